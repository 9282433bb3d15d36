// KYC uploads in the Trader's Room: drag and drop onto the drop zone, and instant feedback
// on the chosen file (type and size) before anything is sent. The server checks the content
// again in full; this only spares the client a round trip for the obvious mistakes.
(function () {
  "use strict";
  var ACCEPTED = ["image/jpeg", "image/png", "image/webp", "application/pdf"];

  function feedback(form, message) {
    var out = form.querySelector("[data-file-feedback]");
    if (!out) return;
    out.textContent = message || "";
    out.hidden = !message;
  }

  function check(form, file) {
    var max = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;
    if (!file) return "";
    // The messages come translated from the page (data-msg-type, data-msg-size).
    if (ACCEPTED.indexOf(file.type) === -1) return form.getAttribute("data-msg-type");
    if (max && file.size > max) {
      return form.getAttribute("data-msg-size").replace("{size}", (file.size / 1048576).toFixed(1));
    }
    return "";
  }

  document.addEventListener("change", function (event) {
    var input = event.target.closest("[data-kyc-upload] input[type=file]");
    if (!input) return;
    var form = input.form;
    var problem = check(form, input.files[0]);
    feedback(form, problem);
    form.querySelector("button[type=submit]").disabled = Boolean(problem);
  });

  ["dragenter", "dragover"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var zone = event.target.closest("[data-dropzone]");
      if (!zone) return;
      event.preventDefault();
      zone.classList.add("dropzone--over");
    });
  });
  document.addEventListener("dragleave", function (event) {
    var zone = event.target.closest("[data-dropzone]");
    if (zone) zone.classList.remove("dropzone--over");
  });
  document.addEventListener("drop", function (event) {
    var zone = event.target.closest("[data-dropzone]");
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("dropzone--over");
    var input = zone.querySelector("input[type=file]");
    if (!input || !event.dataTransfer.files.length) return;
    input.files = event.dataTransfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
})();
