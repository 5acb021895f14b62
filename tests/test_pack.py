"""`coach kb check`: the shipped pack passes; a broken copy fails, naming file and field."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from knowledge.pack import DEFAULT_DIR, PackError, check_pack, load_pack


def run_check(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "kb", "check", *args], capture_output=True, text=True, env=env
    )


def test_shipped_pack_passes():
    result = run_check(str(DEFAULT_DIR))
    assert result.returncode == 0, result.stdout
    assert "ok" in result.stdout


def test_shipped_pack_has_the_required_content(pack):
    assert [s.id for s in pack.steps] == [
        "icebreaking",
        "need_guidance",
        "value_presentation",
        "objection_handling",
        "agreement",
    ]
    for step in pack.steps:
        assert len(step.techniques) >= 3 and len(step.model_scripts) >= 2
        assert len(step.scenarios) >= 2 and len(step.rubric) >= 4
    assert len(pack.products) >= 2 and len(pack.dealers) >= 2


def step_file(root, step_id):
    return next(p for p in (root / "steps").glob("*.yaml") if step_id in p.name).relative_to(root)


def test_problems_name_the_file_and_the_field(pack_copy):
    root, edit = pack_copy
    icebreaking = str(step_file(root, "icebreaking"))
    agreement = str(step_file(root, "agreement"))
    edit(icebreaking, lambda d: d["techniques"][1]["how"].pop("en"))  # missing translation
    edit(icebreaking, lambda d: d["model_scripts"][0]["template"].update(zh="{{ product.name "))  # does not parse
    edit(icebreaking, lambda d: d["scenarios"][1].update(en="Visit {{ dealer.nickname }}"))  # undefined variable
    edit(agreement, lambda d: d.update(id="closing"))  # unknown step id
    edit("products.yaml", lambda d: d["products"][0]["features"][0]["name"].update(en="x" * 5000))
    edit(
        step_file(root, "value_presentation"),
        lambda d: d["model_scripts"][1]["template"].update(en="{{ product.features[0].name }}"),
    )
    edit("ui.yaml", lambda d: d.pop("common.help") and d.update({"course.feedback": {"zh": "{{ scroe }}", "en": "x"}}))

    result = run_check(str(root))
    out = result.stdout
    assert result.returncode == 1
    assert f"{icebreaking}: techniques[1].how.en: missing translation (en)" in out
    assert f"{icebreaking}: model_scripts[0].template.zh: template error" in out
    assert f"{icebreaking}: scenarios[1].en: template error" in out and "nickname" in out
    assert f"{agreement}: id: unknown step id 'closing'" in out
    assert "no valid file defines step 'agreement'" in out
    assert "model_scripts[1].template.en: renders to 5000 characters with product 'home_fiber'" in out
    assert "ui.yaml: common.help: missing interface string" in out
    assert "ui.yaml: course.feedback.zh: undefined variable 'scroe'" in out


def test_invalid_yaml_and_missing_files_are_reported(pack_copy):
    root, _ = pack_copy
    (root / "dealers.yaml").write_text("dealers: [unclosed", encoding="utf-8")
    (root / "products.yaml").unlink()
    problems = [str(p) for p in check_pack(root)]
    assert any(p.startswith("dealers.yaml: line") and "not valid YAML" in p for p in problems)
    assert "products.yaml: file is missing" in problems
    with pytest.raises(PackError):
        load_pack(root)


def test_a_company_pack_is_used_through_the_environment(pack_copy, tmp_path):
    root, edit = pack_copy
    edit("ui.yaml", lambda d: d["common.welcome"].update(zh="欢迎来到青禾培训中心！{{ name }}"))
    env = {"COACH_KNOWLEDGE_DIR": str(root), "PATH": "/usr/bin:/bin", "COACH_DB": str(tmp_path / "c.db")}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--user", "amy"],
        input="/start\n",
        capture_output=True,
        text=True,
        env=env,
    )
    assert "欢迎来到青禾培训中心" in result.stdout, result.stderr
    bad = run_check(env={**env, "COACH_KNOWLEDGE_DIR": str(tmp_path / "nowhere")})
    assert bad.returncode == 1 and "content pack folder not found" in bad.stdout


def test_role_play_and_drill_content_is_cross_checked(pack_copy):
    root, edit = pack_copy
    edit("dealers.yaml", lambda d: d["dealers"][0]["objections"].__setitem__(0, "no_such_card"))
    edit("dealers.yaml", lambda d: d["dealers"][1]["reactions"]["agreement"]["poor"].update(en="{{ dealer.nmae }}"))
    edit("roleplay.yaml", lambda d: d["man_classes"].pop())
    edit("objections.yaml", lambda d: d["objections"][2]["model_answer"].update(zh="{% if %}"))
    edit("objections.yaml", lambda d: d["objections"][3].update(deck="supplier"))
    out = run_check(str(root)).stdout
    assert "dealers.yaml: dealers[0].objections[0]: no dealer-deck objection 'no_such_card'" in out
    assert "dealers.yaml: dealers[1].reactions.agreement.poor.en: template error" in out and "nmae" in out
    assert "roleplay.yaml: man_classes: List should have at least 8 items" in out
    assert "objections.yaml: objections[2].model_answer.zh: template error" in out
    assert "objections.yaml: objections[3].deck: Input should be 'dealer' or 'customer'" in out


def test_drill_settings_are_checked_and_the_reminder_time_is_read_from_them(pack_copy):
    root, edit = pack_copy
    edit("drill.yaml", lambda d: d["reminder"].update(time="21:30", timezone="Europe/Berlin"))
    reminder = load_pack(root).reminder_time
    assert (reminder.hour, reminder.minute, str(reminder.tzinfo)) == (21, 30, "Europe/Berlin")
    edit("drill.yaml", lambda d: d["ratings"].update(hard_below=30) or d["reminder"].update(timezone="Mars/Base"))
    out = run_check(str(root)).stdout
    assert "drill.yaml: ratings: thresholds must rise" in out
    assert "drill.yaml: reminder.timezone: unknown time zone 'Mars/Base'" in out
    edit("drill.yaml", lambda d: d.update(round_size=0))
    assert "drill.yaml: round_size: Input should be greater than or equal to 1" in run_check(str(root)).stdout


def test_each_file_of_the_pack_is_parsed_once(monkeypatch):
    from knowledge import loader

    reads = []
    real = loader.read_yaml
    monkeypatch.setattr(loader, "read_yaml", lambda path, rel, problems: reads.append(rel) or real(path, rel, problems))
    load_pack(DEFAULT_DIR)
    assert sorted(reads) == sorted(set(reads)) and "drill.yaml" in reads and "ui.yaml" in reads


def test_reactions_must_answer_known_personas_and_checks(pack_copy):
    root, edit = pack_copy

    def spoil(data):
        lines = data["reactions"]["wang_ideal"]
        lines["harm"]["bribery"] = lines["harm"]["instant_discount"]  # no such negative check
        lines["passed"]["small_talk"] = lines["passed"]["personal_opening"]  # no such rubric check
        lines["missed"]["clarify"]["en"] = "You never asked {{ dealer.nickname }}"  # undefined variable
        data["reactions"]["mr_nobody"] = {"harm": {}}

    edit("reactions.yaml", spoil)
    out = run_check(str(root)).stdout
    assert "reactions.yaml: reactions.wang_ideal.harm.bribery: no negative check" in out
    assert "reactions.yaml: reactions.wang_ideal.passed.small_talk: no rubric check" in out
    assert "reactions.yaml: reactions.wang_ideal.missed.clarify.en: template error" in out and "nickname" in out
    assert "reactions.yaml: reactions.mr_nobody: no dealer persona 'mr_nobody'" in out


def _dealer_index(data, dealer_id):
    return next(i for i, d in enumerate(data["dealers"]) if d["id"] == dealer_id)


def test_shipped_personas_declare_their_facts_once(pack):
    wu = pack.dealer("wu_franchise")
    assert (wu.facts.gender, wu.facts.age, wu.facts.shop_area_m2) == ("female", 26, 15)
    assert pack.dealer("zhao_established").facts.meeting_minutes == 20
    for dealer_id in ("wu_franchise", "chen_community"):  # the profile reads the fact instead of retyping it
        raw = yaml.safe_load((DEFAULT_DIR / "dealers.yaml").read_text(encoding="utf-8"))["dealers"]
        profile = next(d for d in raw if d["id"] == dealer_id)["profile"]
        assert all("dealer.facts.shop_area_m2" in profile[locale] for locale in ("zh", "en"))


def test_kb_check_catches_a_persona_told_two_ways(pack_copy):
    root, edit = pack_copy
    agreement = str(step_file(root, "agreement"))
    wu = lambda d: d["dealers"][_dealer_index(d, "wu_franchise")]  # noqa: E731
    wang = lambda d: d["dealers"][_dealer_index(d, "wang_ideal")]  # noqa: E731
    edit("dealers.yaml", lambda d: wang(d)["reactions"]["agreement"]["good"].update(zh="行，刘店长那边我去说。"))
    edit("dealers.yaml", lambda d: wu(d)["opening_lines"][0].update(zh="我这二十平米的小店，一天也就十来个人。"))
    edit("dealers.yaml", lambda d: wu(d)["temperament"].update(en="Young and driven, he learns fast."))
    edit("dealers.yaml", lambda d: d["dealers"][_dealer_index(d, "zhao_established")]["opening_lines"][0].update(
        en="Please sit down. We have forty minutes."))  # fmt: skip
    edit(
        agreement,
        lambda d: d["scenarios"][1].update(en="Sell {{ product.pricing[1] }}: {{ product.selling_points[0] }}"),
    )
    edit(agreement, lambda d: d["model_scripts"][0]["template"].update(zh="你：您担心的{{ dealer.concerns[0] }}……"))

    out = run_check(str(root)).stdout
    assert "dealers.yaml: dealers[0].reactions.agreement.good.zh: shown for 'wang_ideal' but names '刘店长'" in out
    wu_at = "dealers.yaml: dealers[6]"
    assert (
        f"{wu_at}.opening_lines[0].zh: shown for 'wu_franchise': says '二十平米' but the declared shop size is 15"
        in out
    )
    assert f"{wu_at}.temperament.en: about 'wu_franchise' (female) but says he" in out
    assert "says 'forty minutes' but the declared meeting length is 20" in out
    assert (
        f"{agreement}: scenarios[1].en: with product 'home_fiber', presents pricing[1] with selling_points[0], "
        "which needs mesh_wifi: not in that tier" in out
    )
    assert (
        f"{agreement}: model_scripts[0].template.zh: for 'wang_ideal', sums up concerns[0], "
        "which the objection model before it never handles" in out
    )


def test_a_warning_is_reported_but_the_pack_still_loads(pack_copy):
    root, edit = pack_copy
    cards = lambda d: next(o for o in d["objections"] if o["id"] == "myth_only_strong_dealers")  # noqa: E731
    edit("objections.yaml", lambda d: cards(d)["checks"]["acknowledge"]["tip"].update(en="Tell him he is right."))
    result = run_check(str(root))
    assert result.returncode == 0
    assert "checks.acknowledge.tip.en: warning: shown for 'chen_community' (female) but says he, him" in result.stdout
    load_pack(root)


def test_every_dealer_has_a_line_for_every_harm_and_a_missing_one_is_warned_about(pack_copy):
    assert [str(p) for p in check_pack(DEFAULT_DIR)] == []  # shipped: no warnings either
    root, edit = pack_copy
    edit("reactions.yaml", lambda data: data["reactions"]["zhou_content"]["harm"].pop("bashing_competitors"))
    problems = check_pack(root)
    assert [(p.field, p.warning) for p in problems] == [("reactions.zhou_content.harm", True)]
    assert "bashing_competitors" in problems[0].message


def test_an_extra_exemplar_for_a_check_the_step_does_not_have_is_a_pack_error(pack_copy):
    root, edit = pack_copy
    edit(
        "scoring.yaml", lambda data: data.setdefault("rubric_exemplars", {}).update({"icebreaking": {"no_such": ["x"]}})
    )
    problems = [p for p in check_pack(root) if not p.warning]
    assert [(p.file, p.field) for p in problems] == [("scoring.yaml", "rubric_exemplars.icebreaking.no_such")]
    with pytest.raises(PackError, match=r"rubric_exemplars\.icebreaking\.no_such"):
        load_pack(root)


def test_a_shorthand_of_two_words_or_an_empty_spelling_is_a_pack_error(pack_copy):
    root, edit = pack_copy
    edit("scoring.yaml", lambda data: data["semantic"]["spoken_forms"].update({"c u": "see you", "thx": ""}))
    problems = [p for p in check_pack(root) if not p.warning]
    assert {p.file for p in problems} == {"scoring.yaml"}
    assert {p.field for p in problems} == {"semantic.spoken_forms.c u.[key]", "semantic.spoken_forms.thx"}
