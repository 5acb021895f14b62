"""toolkit.yaml in `coach kb check`: a broken toolkit is refused, naming the file and the field."""

from __future__ import annotations

from knowledge.pack import check_pack


def problems(root) -> list[str]:
    return [str(p) for p in check_pack(root)]


def test_every_man_class_needs_next_steps_and_every_dimension_a_question(pack_copy):
    root, edit = pack_copy

    def damage(data):
        del data["man"]["next_steps"]["MaN"]
        data["man"]["next_steps"]["MAX"] = data["man"]["next_steps"]["man"]
        data["man"]["questions"] = [q for q in data["man"]["questions"] if q["dimension"] != "need"]

    edit("toolkit.yaml", damage)
    found = problems(root)
    assert "toolkit.yaml: man.next_steps: no next steps for MAN class 'MaN'" in found
    assert any(p.startswith("toolkit.yaml: man.next_steps.MAX: not a MAN class") for p in found)
    assert "toolkit.yaml: man.questions: no question on need" in found


def test_a_toolkit_template_must_render_with_the_variables_the_bot_gives(pack_copy):
    root, edit = pack_copy

    def damage(data):
        data["swot"]["strategies"][0]["prompt"]["en"] = "Use {{ strenghts[0] }} now"
        data["pitch"]["script"]["zh"] = "你：{{ product"

    edit("toolkit.yaml", damage)
    found = problems(root)
    assert any(p.startswith("toolkit.yaml: swot.strategies[0].prompt.en: template error") and "strenghts" in p
               for p in found)  # fmt: skip
    assert any(p.startswith("toolkit.yaml: pitch.script.zh: template error") for p in found)


def test_a_missing_translation_and_a_missing_swot_part_are_reported(pack_copy):
    root, edit = pack_copy

    def damage(data):
        del data["pitch"]["value_exemplars"]["en"]
        data["swot"]["quadrants"] = data["swot"]["quadrants"][:3]

    edit("toolkit.yaml", damage)
    found = problems(root)
    assert "toolkit.yaml: pitch.value_exemplars.en: missing translation (en)" in found
    assert any(p.startswith("toolkit.yaml: swot.quadrants:") for p in found)
