// The landing page follows its payment: it polls the token's status route and, once the payment
// has left Pending, sends the browser where the sandbox says (the merchant's success or failure
// page). Served from the sandbox's own origin; the page works without it (a no-script refresh).
(function () {
  "use strict";
  var page = document.getElementById("follow");
  var statusUrl = page.getAttribute("data-status-url");
  var every = Number(page.getAttribute("data-poll-ms")) || 1000;
  var status = document.getElementById("status");
  var left = document.getElementById("expires_in");

  function timeLeft(seconds) {
    var minutes = Math.floor(seconds / 60), rest = seconds % 60;
    return (minutes < 10 ? "0" : "") + minutes + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function poll() {
    fetch(statusUrl, { cache: "no-store", credentials: "omit" })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (payment) {
        status.textContent = payment.status;
        left.textContent = timeLeft(payment.expires_in_seconds);
        if (payment.redirect_url) {
          window.location.replace(payment.redirect_url);
        } else {
          window.setTimeout(poll, every);
        }
      })
      .catch(function () { window.setTimeout(poll, every * 2); });
  }

  window.setTimeout(poll, every);
})();
