// Live checks on the settings pages. As the admin types, the form is posted (with its CSRF
// token) to the page's check URL, which runs the same check as the Save button, and what it
// found is shown. Without this script the "Check" button does the same by a normal submit.
(function () {
  "use strict";
  var form = document.querySelector("form[data-check-url]");
  var findings = document.getElementById("findings");
  if (!form || !findings || !window.fetch) return;
  var timer = null;
  var latest = 0;

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function problemItem(problem) {
    var item = element("li");
    if (problem.where) {
      item.appendChild(element("strong", "", problem.where));
      item.appendChild(document.createTextNode(" · "));
    }
    item.appendChild(document.createTextNode(problem.message));
    if (problem.suggestion) {
      item.appendChild(element("br"));
      item.appendChild(element("span", "hint", "Try: " + problem.suggestion));
    }
    return item;
  }

  function showFindings(result) {
    findings.replaceChildren();
    if (result.ok) {
      findings.appendChild(element("p", "ok", "No problems found."));
      return;
    }
    var list = element("ul", "problems");
    result.problems.forEach(function (problem) { list.appendChild(problemItem(problem)); });
    findings.appendChild(list);
  }

  function showPreview(preview) {
    var subject = document.getElementById("preview-subject");
    var text = document.getElementById("preview");
    if (!preview || !subject || !text) return;
    subject.textContent = preview.subject;
    text.textContent = preview.text;
  }

  function check() {
    var mine = ++latest;
    fetch(form.dataset.checkUrl, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (result) {
        if (mine !== latest) return; // an answer to older text; a newer check is on its way
        showFindings(result);
        showPreview(result.preview);
      })
      .catch(function () {
        if (mine !== latest) return;
        findings.replaceChildren(
          element("p", "hint", "Could not check just now. The Check button still works.")
        );
      });
  }

  form.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 400);
  });
})();
