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

A "JSON" toggle switches the whole form to a raw-JSON editor and back,
carrying the values across.
"""

from __future__ import annotations

import json
from typing import Any

import ipywidgets as w

from ..fields import check_value, enum_options, field_kind, parse_text_value, unwrap_nullable

__all__ = ["SchemaForm"]

_LEAVE_OUT: Any = "\u2014"  # the "—" choice: no value
_ERROR_STYLE = {"text_color": "var(--jp-error-color1, #c62828)"}


class _Field:
    """One property: its label, control, help and inline message."""

    def __init__(self, name: str, spec: dict[str, Any], required: bool) -> None:
        self.name = name
        self.spec, self.nullable = unwrap_nullable(spec if isinstance(spec, dict) else {})
        self.required = required
        self.kind = field_kind(self.spec)
        self.children: dict[str, _Field] = {}
        self.control = self._make_control()
        label = f"{self.spec.get('title') or name}{' *' if required else ''}"
        self.label = w.Label(value=label, layout=w.Layout(min_width="140px"))
        self.help = w.Label(value=str(self.spec.get("description") or ""),
                            layout=w.Layout(display="" if self.spec.get("description") else "none"))
        self.help.style.text_color = "var(--jp-ui-font-color2, #666)"
        self.message = w.Label(value="", style=_ERROR_STYLE)
        if self.kind == "object":
            self.box = w.VBox([self.label, self.control, self.help, self.message],
                              layout=w.Layout(border="1px solid var(--jp-border-color2, #ddd)", padding="4px", margin="2px 0"))
        else:
            self.box = w.VBox([w.HBox([self.label, self.control]), self.help, self.message])
        if "default" in self.spec:
            self.set(self.spec["default"])
        if self.kind != "object":
            self.control.observe(lambda _: self.check(), names="value")

    def _make_control(self) -> w.Widget:
        kind, spec = self.kind, self.spec
        wide = w.Layout(width="420px")
        if kind == "enum":
            options = list(enum_options(spec) or [])
            if not self.required or "default" not in spec:
                options = [(_LEAVE_OUT, _LEAVE_OUT)] + options
            return w.Dropdown(options=options, layout=wide)
        if kind == "multi-enum":
            return w.SelectMultiple(options=enum_options(spec.get("items") or {}) or [], layout=wide)
        if kind == "boolean":
            if self.required or "default" in spec:
                return w.Checkbox(value=False, indent=False)
            return w.Dropdown(options=[(_LEAVE_OUT, _LEAVE_OUT), ("true", True), ("false", False)], layout=wide)
        if kind == "object":
            required = set(spec.get("required") or ())
            self.children = {k: _Field(k, v, k in required) for k, v in spec["properties"].items()}
            return w.VBox([f.box for f in self.children.values()])
        if kind == "json":
            return w.Textarea(placeholder="JSON", layout=w.Layout(width="420px", height="80px"))
        placeholder = {"integer": "a whole number", "number": "a number", "list": "a, b, c  or  [JSON]"}.get(kind, "")
        if spec.get("format"):
            placeholder = str(spec["format"])
        return w.Text(placeholder=placeholder, layout=wide)

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
        return problem


class SchemaForm:
    """A form for one JSON Schema object; ``value`` gives the arguments, ``problems()`` checks them."""

    def __init__(self, schema: dict[str, Any] | None) -> None:
        self.schema = dict(schema or {})
        properties = self.schema.get("properties") or {}
        required = set(self.schema.get("required") or ())
        self.fields = {name: _Field(name, spec, name in required) for name, spec in properties.items()}
        self.fields_box = w.VBox([f.box for f in self.fields.values()])
        self.raw = w.Textarea(layout=w.Layout(width="560px", height="160px", display="none"))
        self.raw_message = w.Label(value="", style=_ERROR_STYLE)
        self.mode = w.ToggleButtons(options=["Form", "JSON"], value="Form",
                                    tooltips=["one field per argument", "edit the arguments as JSON"],
                                    style={"button_width": "70px"})
        self.mode.observe(self._switch, names="value")
        none = w.Label(value="(no arguments)") if not self.fields else None
        self.widget = w.VBox(([none] if none else []) + [self.mode, self.fields_box, self.raw, self.raw_message])

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
