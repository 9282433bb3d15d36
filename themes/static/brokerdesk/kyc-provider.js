// The identity provider's step in the Trader's Room: load the provider's web SDK script (its
// address comes from the provider's configuration) and launch it in #provider-sdk with the
// access token the page was rendered with; the SDK asks for a fresh token when it expires.
(function () {
  "use strict";

  function csrf() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function refresh(box) {
    return function () {
      return fetch(box.getAttribute("data-refresh-url"), {
        method: "POST", credentials: "same-origin", headers: {"X-CSRFToken": csrf()}
      }).then(function (r) { return r.json(); }).then(function (data) { return data.token; });
    };
  }

  function launch(box) {
    if (!window.snsWebSdk) return;
    window.snsWebSdk.init(box.getAttribute("data-token"), refresh(box))
      .withConf({lang: box.getAttribute("data-lang") || "en"})
      .build()
      .launch("#provider-sdk");
  }

  function start() {
    var box = document.getElementById("provider-sdk");
    if (!box || box.getAttribute("data-started")) return;
    box.setAttribute("data-started", "1");
    var url = box.getAttribute("data-sdk-url");
    if (!url) return;
    var script = document.createElement("script");
    script.src = url;
    script.onload = function () { launch(box); };
    document.head.appendChild(script);
  }

  document.addEventListener("DOMContentLoaded", start);
  document.addEventListener("htmx:afterSwap", start);
})();
