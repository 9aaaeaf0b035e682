/* The admin's "Copy the HTML" button (Signup form for other sites). Without JavaScript the button stays hidden and
 * the text area can be selected and copied by hand. */
(function () {
  "use strict";
  var button = document.getElementById("copy-snippet");
  if (!button) { return; }
  var source = document.getElementById(button.getAttribute("data-copy"));
  var status = document.getElementById("copy-status");
  button.hidden = false;
  button.addEventListener("click", function () {
    function done(message) { status.textContent = message; }
    function fallback() {
      source.focus();
      source.select();
      done(document.execCommand && document.execCommand("copy") ? "Copied." : "Selected: press Ctrl+C to copy.");
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.value).then(function () { done("Copied."); }, fallback);
    } else {
      fallback();
    }
  });
})();
