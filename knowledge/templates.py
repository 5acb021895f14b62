"""The one Jinja2 environment: sandboxed, StrictUndefined, HTML autoescape.

Every text a learner reads is rendered here. User text only ever enters as a
variable (and is escaped); it is never template source.
"""

from functools import lru_cache

from jinja2 import StrictUndefined, Template
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

ENVIRONMENT = ImmutableSandboxedEnvironment(
    undefined=StrictUndefined,
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
)


@lru_cache(maxsize=4096)
def compile_template(source: str) -> Template:
    """Parse a template once; raises jinja2.TemplateSyntaxError when it does not parse."""
    return ENVIRONMENT.from_string(source)


def render(source: str, **context) -> Markup:
    """Render template source with the given variables escaped.

    The result is Markup, so placing it inside another template does not escape it twice.
    """
    return Markup(compile_template(source).render(**context).strip())


def undeclared_variables(source: str) -> set[str]:
    """Names a template reads from its context."""
    from jinja2 import meta

    return meta.find_undeclared_variables(ENVIRONMENT.parse(source))
