"""Post what a browser would post: parse a rendered page's form and collect its fields as the browser sends them.

Inputs (text, hidden, number, date, checkbox and radio when checked), selects (the selected options, or the first
option of a single select when none is), and textareas. Submit buttons, file inputs, disabled fields and fields
outside the form are not sent, as a browser does not send them; nor are those inside a <template> (inert until a
script copies them).
"""

from html.parser import HTMLParser

from django.test import Client

NOT_SENT = {"submit", "button", "reset", "image", "file"}


class _FormParser(HTMLParser):
    def __init__(self, form_id: str | None, form_index: int):
        super().__init__(convert_charrefs=True)
        self.form_id, self.form_index = form_id, form_index
        self.seen_forms = -1
        self.in_form = False
        self.depth = 0
        self.fields: list[tuple[str, str]] = []
        self.action: str | None = None
        self._select: dict | None = None
        self._option: dict | None = None
        self._textarea: dict | None = None
        self.in_template = 0

    def _wanted(self, attrs: dict) -> bool:
        self.seen_forms += 1
        if self.form_id is not None:
            return attrs.get("id") == self.form_id
        return self.seen_forms == self.form_index

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "template":
            self.in_template += 1
            return
        if tag == "form":
            if not self.in_form and self.action is None and self._wanted(attrs):
                self.in_form, self.action = True, attrs.get("action") or ""
            return
        if not self.in_form or self.in_template:
            return
        disabled = "disabled" in attrs
        if tag == "input":
            kind = (attrs.get("type") or "text").lower()
            name = attrs.get("name")
            if not name or disabled or kind in NOT_SENT:
                return
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.fields.append((name, attrs.get("value", "on")))
                return
            self.fields.append((name, attrs.get("value") or ""))
        elif tag == "select":
            self._select = {"name": attrs.get("name"), "disabled": disabled, "multiple": "multiple" in attrs,
                            "options": [], "selected": []}  # fmt: skip
        elif tag == "option" and self._select is not None:
            self._option = {"value": attrs.get("value"), "text": "", "selected": "selected" in attrs}
        elif tag == "textarea":
            self._textarea = {"name": attrs.get("name"), "disabled": disabled, "text": ""}

    def handle_data(self, data):
        if self._option is not None:
            self._option["text"] += data
        if self._textarea is not None:
            self._textarea["text"] += data

    def handle_endtag(self, tag):
        if tag == "template":
            self.in_template = max(0, self.in_template - 1)
        elif tag == "form" and self.in_form:
            self.in_form = False
        elif tag == "option" and self._option is not None and self._select is not None:
            option = self._option
            value = option["value"] if option["value"] is not None else option["text"].strip()
            self._select["options"].append(value)
            if option["selected"]:
                self._select["selected"].append(value)
            self._option = None
        elif tag == "select" and self._select is not None:
            select = self._select
            if select["name"] and not select["disabled"]:
                chosen = select["selected"] or ([] if select["multiple"] else select["options"][:1])
                self.fields.extend((select["name"], value) for value in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            area = self._textarea
            if area["name"] and not area["disabled"]:
                # A browser drops the one newline that follows <textarea> and sends line ends as CRLF.
                text = area["text"][1:] if area["text"].startswith("\n") else area["text"]
                self.fields.append((area["name"], text.replace("\r\n", "\n").replace("\n", "\r\n")))
            self._textarea = None


def form_fields(html: str, *, form_id: str | None = None, index: int = 0) -> tuple[str, dict[str, list[str]]]:
    """The action and the fields (name -> values, in page order) of a form on the page: the one with `form_id`,
    or the `index`-th form."""
    parser = _FormParser(form_id, index)
    parser.feed(html)
    if parser.action is None:
        raise AssertionError(f"no form {form_id or index} on the page")
    data: dict[str, list[str]] = {}
    for name, value in parser.fields:
        data.setdefault(name, []).append(value)
    return parser.action, data


def form_data(html: str, *, form_id: str | None = None, index: int = 0) -> dict[str, list[str]]:
    """The fields a browser would submit from the form (see `form_fields`)."""
    return form_fields(html, form_id=form_id, index=index)[1]


def submit(client: Client, url: str, *, form_id: str | None = None, index: int = 0, changes: dict | None = None,
           **extra):  # fmt: skip
    """Open the page, fill the form as the browser has it, apply `changes` (name -> value, or None to leave a field
    out), and post it to the form's action (or back to the page). Returns the response of the post."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    action, data = form_fields(page.content.decode(), form_id=form_id, index=index)
    for name, value in (changes or {}).items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value if isinstance(value, list) else [value]
    return client.post(action or url, data, **extra)
