"""A form generated from a JSON Schema object: one control per property.

Used for tool arguments in the explorer and for elicitation requests. Every
label and help text is a plain-text widget (``Label``), so server strings are
never read as HTML. Controls by property kind (``fields.field_kind``):

=============  ===========================================================
enum           dropdown (``—`` for "leave out" when optional)
multi-enum     multiple selection
boolean        checkbox (a three-way dropdown when optional with no default)
integer/number text, parsed, with minimum/maximum checked inline
string         text, with minLength/maxLength/pattern checked inline
list           text: comma-separated or a JSON array
object         a nested group of fields
json           a JSON text area (for what a form cannot express)
=============  ===========================================================

A "JSON" toggle (``mode``) switches the whole form to a raw-JSON editor and
back, carrying the values across; whoever shows the form places it (the
explorer puts it after Call, so the keyboard goes list, fields, Call).

Every control's label is its ``description``, which ipywidgets 8 renders as a
``<label for>`` tied to the input (and as text, never markup): assistive
technology and ``page.get_by_label`` find each field by its label. A required
field's label ends in `` *``, and the form says above its fields what the star
means (WCAG technique H90). Enter in a single-line field calls ``on_enter``'s
callback (``on_enter``: the page's "submit" message, not the value on blur).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..fields import check_value, enum_options, field_kind, parse_text_value, unwrap_nullable
from .style import FIELD, HELP, LABEL_WIDTH, styled

__all__ = ["SchemaForm", "on_enter", "labelled"]

_LEAVE_OUT: Any = "\u2014"  # the "—" choice: no value
_ERROR_STYLE = {"text_color": "var(--jp-error-color1, #c62828)"}
_UNDER_INPUT = f"0 0 2px calc({LABEL_WIDTH} + 6px)"  # help and messages under the input, not the label
_SINGLE_LINE = (w.Text,)  # where Enter means "send" (a text area takes Enter as a new line)


def on_enter(field: w.Text, callback: Callable[[], None]) -> None:
    """Call ``callback`` when the person presses Enter in ``field``, and only then.

    ipywidgets 8 deprecates ``Text.on_submit`` for observing ``value`` with
    ``continuous_update=False``, but that also fires when the field loses focus: tabbing
    on to the next field would call the tool. The page still sends its "submit" message
    on Enter, after the value it carries, so the callback sees the field as typed."""

    def heard(_: Any, content: Any, buffers: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "submit":
            callback()

    field.on_msg(heard)


def _show_if(part: w.Widget, shown: Any) -> None:
    part.layout.display = "" if shown else "none"


def labelled(kind: type[w.Widget], label: str, **options: Any) -> Any:
    """A control of ``kind`` whose visible label is tied to it (its ``description``, as text)."""
    style = {"description_width": LABEL_WIDTH, **options.pop("style", {})}
    control = kind(description=label, description_allow_html=False, style=style, **options)
    control.add_class(FIELD)
    return control


class _Field:
    """One property: its labelled control, help and inline message."""

    def __init__(self, name: str, spec: dict[str, Any], required: bool) -> None:
        self.name = name
        self.spec, self.nullable = unwrap_nullable(spec if isinstance(spec, dict) else {})
        self.required = required
        self.kind = field_kind(self.spec)
        self.children: dict[str, _Field] = {}
        self.label = f"{self.spec.get('title') or name}{' *' if required else ''}"
        self.control = self._make_control()
        under = w.Layout(margin=_UNDER_INPUT, display="" if self.spec.get("description") else "none")
        self.help = w.Label(value=str(self.spec.get("description") or ""), layout=under)
        self.help.style.text_color = "var(--jp-ui-font-color2, #666)"
        self.message = w.Label(value="", style=_ERROR_STYLE, layout=w.Layout(margin=_UNDER_INPUT, display="none"))
        for line in (self.help, self.message):
            line.add_class(HELP)
        if self.kind == "object":  # a group: its heading, then its own labelled fields
            self.heading = w.Label(value=self.label, style={"font_weight": "bold"})
            self.help.layout.margin = self.message.layout.margin = "0 0 2px 0"
            self.box = w.VBox([self.heading, self.help, self.control, self.message],
                              layout=w.Layout(border="1px solid var(--jp-border-color2, #ddd)", padding="4px 8px",
                                              margin="4px 0", max_width="600px"))
        else:
            self.box = w.VBox([self.control, self.help, self.message])
        if "default" in self.spec:
            self.set(self.spec["default"])
        if self.kind != "object":
            self.control.observe(lambda _: self.check(), names="value")

    def _make_control(self) -> w.Widget:
        kind, spec, label = self.kind, self.spec, self.label
        wide = w.Layout(width="auto", max_width="580px")
        if kind == "enum":
            options = list(enum_options(spec) or [])
            if not self.required or "default" not in spec:
                options = [(_LEAVE_OUT, _LEAVE_OUT)] + options
            return labelled(w.Dropdown, label, options=options, layout=wide)
        if kind == "multi-enum":
            return labelled(w.SelectMultiple, label, options=enum_options(spec.get("items") or {}) or [], layout=wide)
        if kind == "boolean":
            if self.required or "default" in spec:
                return labelled(w.Checkbox, label, value=False, indent=True)
            return labelled(w.Dropdown, label, options=[(_LEAVE_OUT, _LEAVE_OUT), ("true", True), ("false", False)],
                            layout=wide)
        if kind == "object":
            required = set(spec.get("required") or ())
            self.children = {k: _Field(k, v, k in required) for k, v in spec["properties"].items()}
            return w.VBox([f.box for f in self.children.values()])
        if kind == "json":
            return labelled(w.Textarea, label, placeholder="JSON", layout=w.Layout(width="auto", max_width="580px",
                                                                                 height="80px"))
        placeholder = {"integer": "a whole number", "number": "a number", "list": "a, b, c  or  [JSON]"}.get(kind, "")
        if spec.get("format"):
            placeholder = str(spec["format"])
        return labelled(w.Text, label, placeholder=placeholder, layout=wide)

    def single_lines(self) -> list[w.Text]:
        """The one-line text fields here (nested ones too): where Enter sends the form."""
        if self.kind == "object":
            return [line for child in self.children.values() for line in child.single_lines()]
        return [self.control] if isinstance(self.control, _SINGLE_LINE) else []

    def any_required(self) -> bool:
        return self.required or any(child.any_required() for child in self.children.values())

    # -- values ------------------------------------------------------------------------

    def read(self) -> tuple[bool, Any, str | None]:
        """(present, value, problem): present is False when the field is left out."""
        control = self.control
        if self.kind == "object":
            values, problems = {}, []
            for child in self.children.values():
                present, value, problem = child.read()
                if problem:
                    problems.append(f"{child.name}: {problem}")
                elif present:
                    values[child.name] = value
            if not values and not self.required:
                return False, None, None
            return True, values, "; ".join(problems) or None
        if self.kind in ("enum", "boolean") and isinstance(control, w.Dropdown):
            if control.value is _LEAVE_OUT or control.value == _LEAVE_OUT:
                return self._empty()
            return True, control.value, check_value(control.value, self.spec)
        if self.kind == "boolean":
            return True, bool(control.value), None
        if self.kind == "multi-enum":
            value = list(control.value)
            if not value and not self.required:
                return False, None, None
            return True, value, check_value(value, self.spec)
        text = control.value
        if text.strip() == "" and not (self.kind == "string" and text and self.required):
            return self._empty()
        value, problem = parse_text_value(text, self.spec)
        return True, value, problem

    def _empty(self) -> tuple[bool, Any, str | None]:
        if self.required:
            return (True, None, None) if self.nullable else (False, None, "required")
        return False, None, None

    def set(self, value: Any) -> None:
        control = self.control
        if self.kind == "object":
            for name, child in self.children.items():
                if isinstance(value, dict) and name in value:
                    child.set(value[name])
            return
        if isinstance(control, w.Dropdown):
            known = [v for _, v in control.options]
            control.value = value if value in known else _LEAVE_OUT if _LEAVE_OUT in known else known[0]
        elif isinstance(control, w.Checkbox):
            control.value = bool(value)
        elif isinstance(control, w.SelectMultiple):
            control.value = tuple(v for v in (value or []) if v in [o for _, o in control.options])
        elif value is None:
            control.value = ""
        elif self.kind in ("json", "list") or isinstance(value, (dict, list)):
            control.value = json.dumps(value) if self.kind != "list" else ", ".join(map(str, value))
        else:
            control.value = str(value).lower() if isinstance(value, bool) else str(value)

    def check(self) -> str | None:
        """Show (or clear) the inline message; return it."""
        _, _, problem = self.read()
        self.message.value = problem or ""
        self.message.layout.display = "" if problem else "none"  # an empty line left gaps between fields
        return problem


class SchemaForm:
    """A form for one JSON Schema object; ``value`` gives the arguments, ``problems()`` checks them."""

    def __init__(self, schema: dict[str, Any] | None) -> None:
        self.schema = dict(schema or {})
        properties = self.schema.get("properties") or {}
        required = set(self.schema.get("required") or ())
        self.fields = {name: _Field(name, spec, name in required) for name, spec in properties.items()}
        self.fields_box = w.VBox([f.box for f in self.fields.values()])
        self.raw = labelled(w.Textarea, "Arguments as JSON",
                            layout=w.Layout(width="auto", max_width="720px", height="160px", display="none"))
        self.raw_message = w.Label(value="", style=_ERROR_STYLE, layout=w.Layout(display="none"))
        self.raw_message.observe(lambda change: _show_if(self.raw_message, change["new"]), names="value")
        self.mode = w.ToggleButtons(options=["Form", "JSON"], value="Form",
                                    tooltips=["one field per argument", "edit the arguments as JSON"],
                                    style={"button_width": "70px"}, layout=w.Layout(margin="2px 2px 2px auto"))
        self.mode.observe(self._switch, names="value")
        starred = any(f.any_required() for f in self.fields.values())
        self.note = w.Label(value="(no arguments)" if not self.fields else "Fields marked * are required.",
                            layout=w.Layout(display="" if starred or not self.fields else "none"))
        self.note.style.text_color = "var(--jp-ui-font-color2, #666)"
        self.widget = styled(w.VBox([self.note, self.fields_box, self.raw, self.raw_message]))
        self.widget.add_class("mcpnb-form")

    def on_enter(self, callback: Callable[[], None]) -> None:
        """``callback()`` when the person presses Enter in one of the form's one-line fields."""
        for field in self.fields.values():
            for line in field.single_lines():
                on_enter(line, callback)

    def _switch(self, change: Any) -> None:
        if change["new"] == "JSON":
            self.raw.value = json.dumps(self._form_values(), indent=2)
            self.fields_box.layout.display, self.raw.layout.display = "none", ""
        else:
            try:
                self.set_values(json.loads(self.raw.value or "{}"))
                self.raw_message.value = ""
            except (ValueError, AttributeError) as exc:
                self.raw_message.value = f"not valid JSON: {exc}"
                self.mode.value = "JSON"
                return
            self.fields_box.layout.display, self.raw.layout.display = "", "none"

    def _form_values(self) -> dict[str, Any]:
        values = {}
        for name, f in self.fields.items():
            present, value, problem = f.read()
            if present and not problem:
                values[name] = value
        return values

    @property
    def value(self) -> dict[str, Any]:
        """The arguments as they stand (fields with problems left out)."""
        if self.mode.value == "JSON":
            try:
                parsed = json.loads(self.raw.value or "{}")
            except ValueError:
                return {}
            return parsed if isinstance(parsed, dict) else {}
        return self._form_values()

    def set_values(self, values: dict[str, Any]) -> None:
        if not isinstance(values, dict):
            raise AttributeError("the JSON must be an object")
        for name, f in self.fields.items():
            if name in values:
                f.set(values[name])
        if self.mode.value == "JSON":
            self.raw.value = json.dumps(values, indent=2)

    def problems(self) -> dict[str, str]:
        """Every field's problem, shown inline too; empty when the form can be sent."""
        if self.mode.value == "JSON":
            try:
                parsed = json.loads(self.raw.value or "{}")
                self.raw_message.value = "" if isinstance(parsed, dict) else "the JSON must be an object"
            except ValueError as exc:
                self.raw_message.value = f"not valid JSON: {exc}"
            return {"JSON": self.raw_message.value} if self.raw_message.value else {}
        found = {}
        for name, f in self.fields.items():
            problem = f.check()
            if problem:
                found[name] = problem
        return found
