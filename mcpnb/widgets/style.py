"""What every mcpnb widget root carries: one small style sheet, and a guard for its keys.

What ipywidgets leaves to us:

- a field's label (its ``description``, which ipywidgets ties to the input with
  ``<label for>``) sits in a column on the left, left-aligned and wrapping
  instead of cut with an ellipsis; the input takes the rest of the row, and the
  row wraps when the notebook is narrow;
- help and messages under a field wrap (a long description was cut at the
  edge), set under the input rather than the label;
- ``quiet`` labels: kept for assistive technology and for tests that find a
  field by its label, but not shown, where a placeholder or a heading already
  says what the field is (a search box, the tool list);
- a keyboard focus ring that shows in the light and the dark theme
  (ipywidgets' 1 px outline in ``--jp-brand-color2`` was hard to see);
- the tabs not chosen in the theme's text colour (ipywidgets' grey was 4.4:1
  in the light theme and 4.2:1 in the dark, under WCAG's 4.5:1);
- tabs as wide as their titles where the row is short of room, up to
  ipywidgets' 144 px where it is not (six equal tabs cut "Model's view" and
  "Resources" at 900 px);
- disabled buttons that look disabled (in the dark theme a disabled primary
  button stayed bright blue at 60 % opacity and looked ready to press);
- the "Copy as code" box wrapping its lines inside itself.

Every colour is a JupyterLab theme variable. The sheet is a hidden ``HTML``
widget (a ``<style>`` applies wherever it sits in the page); each widget root
carries one, so a form shown on its own looks the same as in the explorer, and
the same rules applied twice change nothing.

The key guard: JupyterLab and Notebook 7 give single keys to the notebook
(arrows move to another cell, ``D D`` deletes cells, ``0 0`` restarts the
kernel) unless the focused element is editable. A list, a dropdown, a button,
a checkbox or a tab is not, so an arrow key in the tool list left the explorer
for the next cell. Lumino looks for a shortcut from the focused element up and
stops at one marked ``data-lm-suppress-shortcuts`` (the notebook's selectors end
in ``:focus``, so the mark must be on the control itself); the guard, a hidden
anywidget (the attribute cannot be set from Python), marks each such control
inside its root as it takes the focus: a list always, a button, checkbox or
tab only when reached by keyboard (after a click, Ctrl+S must still save the
notebook). Text fields stay unmarked: the notebook leaves their keys alone
already, and Ctrl+S and the like still work there.
"""

from __future__ import annotations

import anywidget
import ipywidgets as w

__all__ = ["ROOT", "FIELD", "QUIET", "HELP", "LABEL_WIDTH", "style_sheet", "KeyGuard", "styled"]

ROOT = "mcpnb-ui"  # on every widget root that carries the sheet; the rules apply inside it
FIELD = "mcpnb-field"  # a control whose description is its visible label
QUIET = "mcpnb-quiet"  # a control whose label is for assistive technology only
HELP = "mcpnb-help"  # a line of help or a message under a field: it wraps
LABEL_WIDTH = "140px"

_SHEET = f"""<style>
.{ROOT} .{FIELD}.widget-inline-hbox {{ flex-wrap: wrap; row-gap: 2px; align-items: flex-start; }}
.{ROOT} .{FIELD} > .widget-label {{ text-align: left; white-space: normal; overflow-wrap: anywhere;
  line-height: 1.3; height: auto; padding: 5px 0 4px; flex: 0 0 auto; max-width: 100%; }}
.{ROOT} .{FIELD} > input, .{ROOT} .{FIELD} > select, .{ROOT} .{FIELD} > textarea {{
  flex: 1 1 200px; min-width: 0; }}
.{ROOT} .{HELP} {{ white-space: normal; overflow-wrap: anywhere; height: auto; line-height: 1.35;
  padding-bottom: 4px; }}
.{ROOT} .{QUIET} > .widget-label {{ position: absolute !important; width: 1px !important; height: 1px;
  margin: -1px; padding: 0; border: 0; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }}
.{ROOT} input:focus-visible, .{ROOT} select:focus-visible, .{ROOT} textarea:focus-visible,
.{ROOT} button:focus-visible, .{ROOT} [role=tab]:focus-visible, .{ROOT} a:focus-visible {{
  outline: 2px solid var(--jp-brand-color1, #1976d2) !important; outline-offset: 1px; }}
.{ROOT} .jupyter-widget-tab > .lm-TabBar .lm-TabBar-tab:not(.lm-mod-current) {{
  color: var(--jp-ui-font-color1, #222); }}
.{ROOT} .jupyter-widget-tab > .lm-TabBar .lm-TabBar-tab {{
  flex: 1 1 auto; max-width: var(--jp-widgets-horizontal-tab-width, 144px); }}
.{ROOT} .jupyter-button:disabled, .{ROOT} .jupyter-button:disabled:hover {{
  background-color: var(--jp-layout-color2, #eee); color: var(--jp-ui-font-color3, #999);
  border: 1px dashed var(--jp-border-color1, #bdbdbd); box-shadow: none; opacity: 1; cursor: not-allowed; }}
.{ROOT} .mcpnb-code textarea {{ white-space: pre-wrap; overflow-wrap: anywhere; overflow-x: hidden;
  font-family: var(--jp-code-font-family, monospace); font-size: var(--jp-code-font-size, 13px); }}
</style>"""


def style_sheet() -> w.HTML:
    """The sheet as a widget that takes no room: put it among a root's children."""
    return w.HTML(value=_SHEET, layout=w.Layout(display="none"))


class KeyGuard(anywidget.AnyWidget):
    """Keeps the notebook's single-key shortcuts out of the mcpnb widget it sits in (see above)."""

    _esm = """
function guard(root) {
  if (root.hasAttribute("data-mcpnb-keys")) return;  // one listener per root
  root.setAttribute("data-mcpnb-keys", "");
  root.addEventListener("focusin", (event) => {
    const control = event.target;
    if (control.matches(":read-write")) return;
    // A list always (its arrows); anything else only when reached by keyboard: a button clicked with
    // the mouse keeps the focus, and Ctrl+S pressed after it must still save the notebook.
    if (control.matches("select") || control.matches(":focus-visible")) {
      control.setAttribute("data-lm-suppress-shortcuts", "true");
    } else {
      control.removeAttribute("data-lm-suppress-shortcuts");
    }
  });
}
function render({ el }) {
  let tries = 0;
  const find = () => {  // the view may be drawn before it is in the page
    const root = el.closest(".%s");
    if (root) guard(root);
    else if (tries++ < 100) requestAnimationFrame(find);
  };
  find();
}
export default { render };
""" % ROOT


def styled(root: w.Box) -> w.Box:
    """``root`` marked as an mcpnb widget, carrying the sheet and the key guard (its last children)."""
    root.add_class(ROOT)
    root.children = [*root.children, style_sheet(), KeyGuard(layout=w.Layout(display="none"))]
    return root
