// The copy editor's live preview (templates/admin/emails/content/edit.html). Without JavaScript the "Preview"
// button does the same through a page load; with it, the preview follows the typing: a debounced POST of the
// form (CSRF token from the form's hidden field) to the preview endpoint, whose answer fills the frames, the
// text part and the problems next to each field. An answer that arrives after a newer request is dropped.
(function () {
  "use strict";
  const form = document.getElementById("copy-form");
  if (!form || !form.dataset.previewUrl) return;
  const status = document.getElementById("preview-status");
  const WAIT_MS = 350;
  let timer = null;
  let latest = 0;

  function setText(id, value) {
    const el = document.getElementById(id);
    if (el) el.textContent = value;
  }

  function showProblems(id, messages) {
    const list = document.getElementById(id);
    if (!list) return;
    list.replaceChildren(...(messages || []).map(function (message) {
      const item = document.createElement("li");
      item.textContent = message;
      return item;
    }));
    list.hidden = !messages || messages.length === 0;
  }

  function show(preview) {
    if (!preview.failed) {
      document.querySelectorAll("iframe.preview-html").forEach(function (f) { f.srcdoc = preview.html; });
      document.querySelectorAll("iframe.preview-html-dark").forEach(function (f) { f.srcdoc = preview.html_dark; });
      setText("preview-subject", preview.subject);
      setText("preview-text", preview.text);
    }
    setText("preview-preheader", preview.preheader);
    ["subject", "preheader", "body"].forEach(function (name) {
      showProblems("problems-" + name, (preview.problems || {})[name]);
    });
    showProblems("problems-lead", preview.lead_problems);
    status.textContent = preview.failed
      ? "This copy cannot be rendered yet; see the problems next to the fields."
      : "Preview updated.";
  }

  function refresh() {
    const request = ++latest;
    const data = new FormData(form);
    data.delete("action");
    fetch(form.dataset.previewUrl, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: {"X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value},
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    }).then(function (preview) {
      if (request === latest) show(preview);
    }).catch(function () {
      if (request === latest) status.textContent = "The preview could not be updated; use the Preview button.";
    });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, WAIT_MS);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
})();
