// "Go back" on an error page: the browser's own back, which keeps what was typed in the form.
// Without JavaScript the link still leads to the page the error names.
(function () {
  "use strict";
  document.querySelectorAll("a[data-back]").forEach(function (link) {
    if (window.history.length < 2) return;
    link.addEventListener("click", function (event) {
      event.preventDefault();
      window.history.back();
    });
  });
})();
