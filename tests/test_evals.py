"""Evals of tool choice (mcpnb.evals) and the retrieval baseline (mcpnb.similarity), against the demo crm and
the scripted stand-in (mcpnb.demo.scripted_model) through the providers' real client packages."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

import mcpnb
from mcpnb.demo.scripted_model import SCRIPTED_KEY, Rule, serving
from mcpnb.evals import NOT_RUN, RETRIEVAL_LABEL, evaluate, read_cases
from mcpnb.similarity import rank

NEGOTIATION = "Which leads are in the negotiation stage?"


@pytest.fixture
def crm() -> mcpnb.Server:
    return mcpnb.connect("demo:crm")


@pytest.fixture
def stand_in():
    with serving() as running:
        yield running


# -- passing -------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_a_model_that_calls_the_expected_tools_passes(crm, stand_in, provider):
    stand_in.rules = [Rule(NEGOTIATION, [[("list_leads", {"stage": "negotiation"})]], "Here: {results}"),
                      Rule("lead 7 and lead 8", [[("get_lead", {"lead_id": 7}), ("get_lead", {"lead_id": 8})]],
                           "{results}")]
    cases = [{"id": "stage", "prompt": NEGOTIATION,
              "expected": [{"tool": "list_leads", "arguments": {"stage": "negotiation"}}]},
             {"id": "two", "prompt": "Compare lead 7 and lead 8", "expected": ["get_lead", "get_lead"]},
             {"id": "none", "prompt": "Say hello.", "expected": []}]
    result = evaluate(cases, stand_in.llm(provider), crm, runs=1, progress=False)
    assert result["passed"].tolist() == [True, True, True]
    assert result["reason"].tolist() == ["", "", ""]
    assert result["called"].tolist() == [["list_leads"], ["get_lead", "get_lead"], []]
    assert result["arguments"].tolist()[1] == [{"lead_id": 7}, {"lead_id": 8}]
    assert "no rule matched" in result["answer"].iloc[2].lower()
    assert (result["input_tokens"] > 0).all() and (result["output_tokens"] > 0).all()
    assert (result["seconds"] > 0).all() and result["error"].isna().all()
    assert set(result["model"]) == {stand_in.llm(provider).label}
    assert "(scripted stand-in, not a model)" in result["model"].iloc[0]
    assert result.pass_rate == 1.0


# -- each failure, said in its words ---------------------------------------------------------------


def test_each_way_a_run_fails_is_named(crm, stand_in):
    stand_in.rules = [
        Rule("wrong tool", [[("list_organisations", {})]], "{results}"),
        Rule("extra tool", [[("list_leads", {"stage": "won"}), ("list_newsletters", {})]], "{results}"),
        Rule("wrong order", [[("list_newsletters", {})], [("list_leads", {"stage": "won"})]], "{results}"),
        Rule("wrong argument", [[("list_leads", {"stage": "lost"})]], "{results}"),
        Rule("failing tool", [[("get_lead", {"lead_id": 999999})]], "{results}"),
        Rule("endless", [[("list_newsletters", {})]] * 10, "never said"),
    ]
    leads_won = {"tool": "list_leads", "arguments": {"stage": "won"}}
    cases = [{"id": "wrong tool", "prompt": "wrong tool", "expected": ["list_leads"]},
             {"id": "extra", "prompt": "extra tool", "expected": [leads_won]},
             {"id": "order", "prompt": "wrong order", "expected": [leads_won, "list_newsletters"], "order": "strict"},
             {"id": "any order", "prompt": "wrong order", "expected": [leads_won, "list_newsletters"]},
             {"id": "argument", "prompt": "wrong argument", "expected": [leads_won]},
             {"id": "tool error", "prompt": "failing tool", "expected": ["get_lead"]},
             {"id": "steps", "prompt": "endless", "expected": ["list_newsletters"]}]
    result = evaluate(cases, stand_in.llm("anthropic"), crm, runs=1, max_steps=3, progress=False).set_index("id")
    reasons = result["reason"].to_dict()
    assert reasons["wrong tool"] == "missing call: list_leads; extra call: list_organisations"
    assert reasons["extra"] == "extra call: list_newsletters"
    assert reasons["order"] == "out of order"
    assert reasons["any order"] == ""
    assert reasons["argument"] == 'argument mismatch: list_leads.stage: expected "won", got "lost"'
    assert reasons["tool error"] == "tool error: get_lead: Error executing tool get_lead: There is no lead 999999."
    assert reasons["steps"].startswith("step limit; extra call: list_newsletters")
    assert result["passed"].to_dict() == {key: key == "any order" for key in reasons}
    assert result.loc["steps", "called"] == ["list_newsletters"] * 3


def test_a_provider_failure_is_a_failed_run_with_its_reason_not_a_crash(crm, stand_in):
    stand_in.fail_with = (500, "The scripted server had an internal error.")
    result = evaluate([{"prompt": NEGOTIATION, "expected": ["list_leads"]}], stand_in.llm("openai"), crm, runs=2,
                      progress=False)
    assert len(result) == 2 and not result["passed"].any()
    assert result["reason"].str.startswith("model error: ").all()
    assert result["error"].notna().all() and result["called"].tolist() == [[], []]
    # The row names the model; its reason says what went wrong, within the room a reason has.
    assert result["reason"].str.startswith("model error: the API failed (HTTP 500: The scripted server").all()
    assert SCRIPTED_KEY not in " ".join(result["reason"]) + " ".join(result["error"])


# -- matching ----------------------------------------------------------------------------------------


def test_the_three_match_modes(crm, stand_in):
    stand_in.rules = [Rule("lena", [[("list_leads", {"stage": "negotiation", "owner": "lena"})]], "{results}")]
    prompt = "Lena's leads in negotiation"

    def case(name: str, arguments: dict, match: str) -> dict:
        return {"id": name, "prompt": prompt, "expected": [{"tool": "list_leads", "arguments": arguments,
                                                            "match": match}]}

    cases = [case("exact", {"stage": "negotiation", "owner": "lena"}, "exact"),
             case("exact, one missing", {"stage": "negotiation"}, "exact"),
             case("partial", {"stage": "negotiation"}, "partial"),
             case("partial, wrong value", {"owner": "amira"}, "partial"),
             case("type", {"stage": "won", "owner": "someone"}, "type"),
             case("type, wrong type", {"owner": 3}, "type"),
             {"id": "default is exact", "prompt": prompt,
              "expected": [{"tool": "list_leads", "arguments": {"owner": "lena"}}]}]
    reasons = evaluate(cases, stand_in.llm("openai"), crm, runs=1, progress=False).set_index("id")["reason"]
    assert reasons.to_dict() == {
        "exact": "",
        "exact, one missing": 'argument mismatch: list_leads.owner: expected nothing, got "lena"',
        "partial": "",
        "partial, wrong value": 'argument mismatch: list_leads.owner: expected "amira", got "lena"',
        "type": "",
        "type, wrong type": 'argument mismatch: list_leads.owner: expected a number, got "lena"',
        "default is exact": 'argument mismatch: list_leads.stage: expected nothing, got "negotiation"',
    }


def test_values_compare_as_json():
    from mcpnb.evals import Called, Expected, judge

    def reasons(wanted: dict, got: dict, match: str = "exact") -> list[str]:
        return judge([Expected("t", wanted, match)], [Called("t", "s", got)])

    assert reasons({"n": 1}, {"n": 1.0}) == []
    assert reasons({"n": 1}, {"n": True}) == ["argument mismatch: t.n: expected 1, got true"]
    assert reasons({"f": {"a": 1}}, {"f": {"a": 1, "b": 2}}, "partial") == []
    assert reasons({"f": {"a": 1}}, {"f": {"a": 2, "b": 2}}, "partial") == ["argument mismatch: t.f.a: expected 1, got 2"]
    assert reasons({"f": {"a": 1}}, {"f": {"a": 1, "b": 2}}) == ["argument mismatch: t.f.b: expected nothing, got 2"]
    assert reasons({"xs": [1, "a"]}, {"xs": [2, "b"]}, "type") == []
    assert reasons({"xs": [1]}, {"xs": "1"}, "type") == ['argument mismatch: t.xs: expected an array, got "1"']
    assert judge([Expected("t")], [Called("t", "s", {"anything": 1})]) == []  # no arguments given: any will do


def test_the_same_tool_expected_twice_is_paired_with_the_calls_that_meet_it():
    from mcpnb.evals import Called, Expected, judge

    anything, won = Expected("list_leads", {}, "partial"), Expected("list_leads", {"stage": "won"})
    made = [Called("list_leads", "crm", {"stage": "won"}), Called("list_leads", "crm", {"stage": "lost"})]
    assert judge([anything, won], made) == []  # not "argument mismatch": the first call is the one stage=won meets
    assert judge([anything, won], made, "strict") == ["out of order"]  # the call for stage=won came first
    assert judge([won, anything], made, "strict") == []
    assert judge([won, won], made) == ['argument mismatch: list_leads.stage: expected "won", got "lost"']


# -- runs and summaries --------------------------------------------------------------------------------


def test_runs_give_a_row_each_and_the_summary_is_computed_from_the_rows(crm, stand_in):
    stand_in.rules = [Rule(NEGOTIATION, [[("list_leads", {"stage": "negotiation"})]], "{results}"),
                      Rule("newsletter", [[("list_organisations", {})]], "{results}")]
    cases = [{"id": "a", "prompt": NEGOTIATION, "expected": ["list_leads"]},
             {"id": "b", "prompt": "Show the newsletters", "expected": ["list_newsletters"]},
             {"id": "c", "prompt": "Leads and newsletters in negotiation?",
              "expected": ["list_leads", "list_newsletters"]}]
    models = [stand_in.llm("anthropic"), stand_in.llm("openai")]
    result = evaluate(cases, models, crm, runs=3, progress=False)
    assert len(result) == 3 * 3 * 2
    assert result.groupby(["model", "id"]).size().eq(3).all()
    assert sorted(set(result["run"])) == [1, 2, 3]
    summary = result.summary.set_index(["model", "tool"])
    for model in result["model"].unique():
        rows = result[result["model"] == model]
        whole = summary.loc[(model, "(all)")]
        assert (whole["cases"], whole["runs"], whole["passed"]) == (3, 9, int(rows["passed"].sum()))
        assert whole["pass_rate"] == pytest.approx(rows["passed"].mean()) == pytest.approx(3 / 9)
        assert whole["input_tokens"] == pytest.approx(rows["input_tokens"].mean())
        assert whole["seconds"] == pytest.approx(rows["seconds"].mean())
        leads = summary.loc[(model, "list_leads")]  # cases a and c expect it; only a passes
        assert (leads["cases"], leads["runs"], leads["passed"]) == (2, 6, 3)
        assert summary.loc[(model, "list_newsletters")]["pass_rate"] == 0.0
    assert result.pass_rate == pytest.approx(1 / 3)
    assert result[result["id"] == "a"].pass_rate == 1.0  # filtered, it sums up itself


def test_a_tool_that_is_not_read_only_is_compared_but_not_run(crm, stand_in):
    victim = crm.call("list_leads", stage="lost", limit=1).structured["leads"][0]["id"]
    stand_in.rules = [Rule("delete", [[("delete_lead", {"lead_id": victim})]], "{results}"),
                      Rule("move", [[("move_lead", {"lead_id": victim, "stage": "lost"})]], "{results}")]
    cases = [{"id": "delete", "prompt": f"delete lead {victim}",
              "expected": [{"tool": "delete_lead", "arguments": {"lead_id": victim}}]},
             {"id": "move", "prompt": f"move lead {victim} to lost", "expected": ["move_lead"]}]
    result = evaluate(cases, stand_in.llm("anthropic"), crm, runs=1, allow=["crm.move_lead"], progress=False)
    assert result["passed"].tolist() == [True, True]  # allow= names a tool as chat's does: TOOL or SERVER.TOOL
    assert result["called"].tolist() == [["delete_lead"], ["move_lead"]]
    assert result["not_run"].tolist() == [["delete_lead"], []]  # the row says which call did not run
    assert crm.call("get_lead", lead_id=victim).structured["id"] == victim  # still there
    summaries = " ".join(crm.trace["summary"])
    assert "move_lead" in summaries and "delete_lead" not in summaries  # allowed: run; the other: not sent
    told = json.dumps([body for path, _, body in stand_in.requests])
    assert NOT_RUN[:60] in told  # the model was told why delete_lead did not run


def test_the_report_marks_each_call_that_was_not_run(crm, stand_in):
    """A passing row read "called move_lead · pass" as if the lead had moved: the call that was held back
    says "not run", and only that one."""
    stand_in.rules = [Rule("tidy", [[("list_leads", {"stage": "lost"}), ("delete_lead", {"lead_id": 1})],
                                    [("get_lead", {"lead_id": 1})]], "{results}")]
    cases = [{"id": "tidy", "prompt": "tidy up the lost leads",
              "expected": ["list_leads", "delete_lead", "get_lead"], "order": "strict"},
             {"id": "none", "prompt": "Say hello.", "expected": []}]
    result = evaluate(cases, stand_in.llm("openai"), crm, runs=1, progress=False)
    assert result["passed"].tolist() == [True, True]
    assert result["called"].tolist() == [["list_leads", "delete_lead", "get_lead"], []]
    assert result["not_run"].tolist() == [["delete_lead"], []]
    shown = result._repr_html_()
    cell = next(c for c in shown.split("<td") if "list_<wbr>leads" in c and "delete_<wbr>lead" in c)  # "called"
    assert cell.count(">not run</span>") == 1
    assert cell.index("delete_<wbr>lead") < cell.index(">not run</span>") < cell.index("get_<wbr>lead")
    note = cell[cell.rindex("<span", 0, cell.index(">not run</span>")):]
    assert "border:1px dashed;border:1px dashed var(--jp-warn-color1" in note  # outlined untrusted too


def test_not_run_marks_follow_the_calls_in_order():
    from mcpnb.render import not_run_marks

    assert not_run_marks(["a", "b", "a"], ["a"]) == [True, False, False]
    assert not_run_marks(["a", "b", "b"], ["b", "b"]) == [False, True, True]
    assert not_run_marks(["a"], []) == [False] and not_run_marks([], []) == []
    assert not_run_marks(["a"], None) == [False]  # a row from before the column existed


# -- the baseline ---------------------------------------------------------------------------------------


def test_retrieval_ranks_the_tool_a_prompt_is_clearly_about_first(crm):
    assert rank("Delete the lead entered by mistake", list(crm.tools))[0][0] == "delete_lead"
    cases = [{"id": "delete", "prompt": "Delete the lead entered by mistake", "expected": ["delete_lead"]},
             {"id": "erase", "prompt": "Erase a person's data on request", "expected": ["erase_contact"]},
             {"id": "hello", "prompt": "Say hello.", "expected": []}]
    result = evaluate(cases, "retrieval", crm, runs=3, progress=False).set_index("id")
    assert len(result) == 3  # one row per case: it always ranks the same
    assert set(result["model"]) == {RETRIEVAL_LABEL} and "not a model" in RETRIEVAL_LABEL
    assert result.loc["delete", "rank"] == 1 and result.loc["delete", "passed"] is True
    assert result.loc["delete", "called"] == ["delete_lead"]
    assert result.loc["erase", "rank"] == 1
    assert result.loc["hello", "passed"] is None and "not scored" in result.loc["hello", "reason"]
    assert result.loc[["delete", "erase"], "input_tokens"].eq(0).all()
    assert result.pass_rate == 1.0  # the unscored case counts for nothing
    assert RETRIEVAL_LABEL in result._repr_html_()


def test_retrieval_says_where_the_expected_tool_ranked_when_it_is_not_first(crm):
    result = evaluate([{"prompt": "Send the spring newsletter", "expected": ["send_newsletter"]}], "retrieval", crm,
                      progress=False)
    row = result.iloc[0]
    assert not row["passed"] and row["rank"] > 1
    assert row["reason"] == f"ranked {row['called'][0]} first; send_newsletter ranked {row['rank']} of {len(crm.tools)}"


def test_retrieval_says_so_when_no_tool_shares_a_word_with_the_prompt(crm):
    result = evaluate([{"prompt": "zzz qqq", "expected": ["pipeline_board"]}], "retrieval", crm, progress=False)
    assert result.iloc[0]["reason"] == "no tool's name or description shares a word with the prompt (every score is 0)"


def test_a_selection_of_columns_shows_as_the_table_it_is(crm):
    # results[["id", "passed", "reason"]] in a notebook: the report needs every column, the selection shows plainly
    result = evaluate([{"prompt": "Send the spring newsletter", "expected": ["send_newsletter"]}], "retrieval", crm,
                      progress=False)
    shown = result[["prompt", "passed", "reason"]]._repr_html_()
    assert "<table" in shown and "Send the spring newsletter" in shown and "ranked" in shown


# -- cases ------------------------------------------------------------------------------------------------


def test_bad_case_rows_are_each_named_before_anything_runs(crm):
    cases = [{"prompt": "fine", "expected": ["list_leads"]},
             {"prompt": "", "expected": []},
             {"prompt": "no expectations"},
             {"prompt": "bad order", "expected": [], "order": "sorted"},
             {"prompt": "bad match", "expected": [{"tool": "list_leads", "arguments": {}, "match": "fuzzy"}]},
             {"prompt": "bad key", "expected": [{"tool": "list_leads", "args": {}}]},
             {"id": "x", "prompt": "not json", "expected": "[list_leads"}]
    with pytest.raises(mcpnb.ConfigError) as raised:
        evaluate(cases, "retrieval", crm, progress=False)
    message = raised.value.message
    assert message.splitlines() == [
        "6 cases are not right:",
        "  row 2: prompt is missing or empty",
        "  row 3: expected is missing (write [] for a prompt that should call no tool)",
        "  row 4: order is 'sorted'; it is 'any' or 'strict'",
        "  row 5: expected call 1: match of 'list_leads' is 'fuzzy'; it is 'exact', 'partial' or 'type'",
        "  row 6: expected call 1: unknown key 'args' (the keys are tool, arguments and match)",
        "  row 7 (id 'x'): expected is not valid JSON: Expecting value at character 1",
    ]
    with pytest.raises(mcpnb.ConfigError, match=r"row 1: 'serch_contacts' is not a tool of the servers evaluated "
                                                r"\(did you mean 'search_contacts'\?\)"):
        evaluate([{"prompt": "Find Ada", "expected": ["serch_contacts"]}], "retrieval", crm, progress=False)


def test_cases_come_from_a_dataframe_csv_json_or_jsonl(tmp_path):
    frame = pd.DataFrame({"prompt": ["one", "two"], "expected": [["list_leads"], []], "order": [None, "strict"]})
    assert [(c.prompt, [e.tool for e in c.expected], c.order) for c in read_cases(frame)] == \
        [("one", ["list_leads"], "any"), ("two", [], "strict")]
    csv = tmp_path / "cases.csv"
    csv.write_text('id,prompt,expected\nfirst,one,"list_leads, get_lead"\nsecond,two,"[{""tool"": ""get_lead"", '
                   '""arguments"": {""lead_id"": 3}}]"\nthird,three,[]\n')
    found = read_cases(csv)
    assert [c.id for c in found] == ["first", "second", "third"]
    assert [e.tool for e in found[0].expected] == ["list_leads", "get_lead"]
    assert found[1].expected[0].arguments == {"lead_id": 3} and found[2].expected == ()
    (tmp_path / "cases.json").write_text(json.dumps([{"prompt": "one", "expected": ["list_leads"]}]))
    (tmp_path / "cases.jsonl").write_text('{"prompt": "one", "expected": []}\n\n{"prompt": "two", "expected": []}\n')
    assert len(read_cases(tmp_path / "cases.json")) == 1 and len(read_cases(str(tmp_path / "cases.jsonl"))) == 2
    with pytest.raises(mcpnb.ConfigError, match="Could not read the cases file"):
        read_cases(tmp_path / "missing.csv")


def test_the_evaluation_shows_escaped_with_theme_colours(crm, stand_in):
    stand_in.rules = [Rule("script", [[("list_organisations", {})]], "{results}")]
    cases = [{"id": "<b>x</b>", "prompt": "<script>alert(1)</script>", "expected": ["list_leads"]}]
    shown = evaluate(cases, stand_in.llm("openai"), crm, runs=1, progress=False)._repr_html_()
    assert "<script>alert" not in shown and "&lt;script&gt;alert(1)&lt;/script&gt;" in shown
    assert "&lt;b&gt;x&lt;/b&gt;" in shown and "missing call: list_leads" in shown
    assert "var(--jp-error-color1" in shown and "0% passed (0 of 1 runs, 1 cases)" in shown


# -- the command line ---------------------------------------------------------------------------------------


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mcpnb", "eval", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def test_cli_exit_codes_and_json(tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"prompt": "Delete the lead entered by mistake", "expected": ["delete_lead"]}) + "\n")
    passed = run_cli(str(good), "--model", "retrieval", "--target", "demo:crm")
    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.startswith("PASS  case 1 run 1: called delete_lead")
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("prompt,expected\nDelete the lead entered by mistake,delete_lead\n"
                     "Send the spring newsletter,send_newsletter\n")
    below = run_cli(str(mixed), "--model", "retrieval", "--target", "demo:crm", "--fail-under", "0.9",
                    "--format", "json")
    assert below.returncode == 1, below.stderr
    shown = json.loads(below.stdout)
    assert shown["pass_rate"] == 0.5 and shown["models"] == {RETRIEVAL_LABEL: 0.5}
    assert [run["passed"] for run in shown["runs"]] == [True, False]
    assert run_cli(str(mixed), "--model", "retrieval", "--target", "demo:crm", "--fail-under", "0.5").returncode == 0
    missing = run_cli(str(tmp_path / "nowhere.csv"), "--model", "retrieval", "--target", "demo:crm")
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.startswith("mcpnb eval: could not evaluate: Could not read the cases file")
    assert len(missing.stderr.strip().splitlines()) == 1


def test_cli_runs_a_model_at_a_base_url(tmp_path, stand_in):
    stand_in.rules = [Rule(NEGOTIATION, [[("list_leads", {"stage": "negotiation"})]], "{results}")]
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps([{"prompt": NEGOTIATION, "expected": ["list_leads"]}]))
    done = run_cli(str(cases), "--model", "openai:scripted-1", "--base-url", stand_in.openai_url, "--target",
                   "demo:crm", "--runs", "2", "--format", "json", env={"OPENAI_API_KEY": SCRIPTED_KEY})
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert [run["called"] for run in shown["runs"]] == [["list_leads"], ["list_leads"]]
    assert [run["not_run"] for run in shown["runs"]] == [[], []]
    assert SCRIPTED_KEY not in done.stdout
    wrong = run_cli(str(cases), "--model", "nonsense:x", "--target", "demo:crm")
    assert wrong.returncode == 2 and wrong.stderr.startswith("mcpnb eval: could not evaluate: ")
    stand_in.fail_with = (401, "Incorrect API key provided.")  # every run fails at the model: not evaluated
    refused = run_cli(str(cases), "--model", "openai:scripted-1", "--base-url", stand_in.openai_url, "--target",
                      "demo:crm", "--runs", "1", env={"OPENAI_API_KEY": SCRIPTED_KEY})
    assert refused.returncode == 2, refused.stdout
    assert refused.stderr.startswith("mcpnb eval: could not evaluate: every run failed at the model: openai:scripted-1")
    assert "the key was refused" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1


def test_cli_says_which_calls_were_not_run(tmp_path, stand_in):
    stand_in.rules = [Rule("lead 1", [[("get_lead", {"lead_id": 1}), ("delete_lead", {"lead_id": 1})]], "{results}")]
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps([{"prompt": "Look at lead 1, then delete it",
                                  "expected": ["get_lead", "delete_lead"]}]))
    common = (str(cases), "--model", "openai:scripted-1", "--base-url", stand_in.openai_url, "--target", "demo:crm",
              "--runs", "1")
    table = run_cli(*common, env={"OPENAI_API_KEY": SCRIPTED_KEY})
    assert table.returncode == 0, table.stderr
    assert table.stdout.startswith("PASS  case 1 run 1: called get_lead, delete_lead (not run)\n")
    shown = json.loads(run_cli(*common, "--format", "json", env={"OPENAI_API_KEY": SCRIPTED_KEY}).stdout)
    assert shown["runs"][0]["called"] == ["get_lead", "delete_lead"]
    assert shown["runs"][0]["not_run"] == ["delete_lead"]


def test_in_a_kernel_a_blocked_cell_shows_the_bar_and_the_report(tmp_path, stand_in):
    """The sync call from a notebook cell: a progress bar under the cell while it runs, then the report."""
    import nbformat
    from nbclient import NotebookClient

    code = ('import mcpnb\nfrom mcpnb.evals import evaluate\nmcpnb.connect("demo:crm")\n'
            'evaluate([{"prompt": "Delete the lead entered by mistake", "expected": ["delete_lead"]},\n'
            '          {"prompt": "Erase a person\'s data on request", "expected": ["erase_contact"]}], "retrieval")')
    # A slow (scripted) model: the bar is shown before the runs end (work done before the cell thread
    # takes its errand shows no bar at all).
    stand_in.delay = 0.3
    stand_in.rules = [Rule(NEGOTIATION, [[("list_leads", {"stage": "negotiation"})]], "{results}")]
    failing = (f'model = mcpnb.llm("openai:scripted-1", base_url={stand_in.openai_url!r}, api_key={SCRIPTED_KEY!r})\n'
               f'evaluate([{{"prompt": {NEGOTIATION!r}, "expected": ["list_leads"]}},\n'
               f'          {{"prompt": "Say hello.", "expected": ["list_leads"]}}], model, runs=1)\n'
               f'evaluate([{{"prompt": "Send the newsletter", "expected": ["send_newsletter"]}}], model, runs=3)')
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code), nbformat.v4.new_code_cell(failing)])
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = notebook.cells[0].outputs
    assert [o for o in outputs if o.output_type == "error"] == []
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)  # the bar
    report = outputs[-1]["data"]["text/html"]
    assert "100% passed (2 of 2 runs, 2 cases)" in report and RETRIEVAL_LABEL in report
    # The bar's last words: runs counted in the plural, the failures said once (as map's "8/8 calls · 2 failed").
    states = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"].values()
    said = {state["state"].get("value") for state in states if state["model_name"] == "LabelModel"}
    assert [o for o in notebook.cells[1].outputs if o.output_type == "error"] == []
    assert {"2/2 runs · all passed", "2/2 runs · 1 failed", "3/3 runs · 3 failed"} <= said, said
    # Where the widget cannot be drawn (a saved notebook opened elsewhere), its plain text says the same.
    plain = [o["data"]["text/plain"] for o in notebook.cells[1].outputs
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert plain == ["evaluate: 2/2 runs · 1 failed", "evaluate: 3/3 runs · 3 failed"], plain
