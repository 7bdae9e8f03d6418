// The triage form: say which severity the CVSS vector suggests while it is typed.
// The form works without this: "Check the vector" shows the same hint from the server.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var input = document.querySelector("[data-cvss-vector]");
  var severity = document.getElementById("id_severity");
  if (!input || !severity || !window.fetch) {
    return;
  }
  var hint = document.getElementById("id_severity_helptext");
  if (!hint) {
    hint = document.createElement("div");
    hint.className = "help";
    hint.id = "id_severity_helptext";
    severity.closest(".form-row").appendChild(hint);
  }
  hint.setAttribute("aria-live", "polite");
  severity.setAttribute("aria-describedby", hint.id);

  // Once the triager picks a severity themselves, the suggestion no longer changes it.
  var chosenByHand = false;
  severity.addEventListener("change", function () {
    chosenByHand = true;
  });

  var timer = null;
  var asked = 0;
  function suggest() {
    var vector = input.value.trim();
    var ticket = ++asked;
    if (!vector) {
      hint.textContent = "";
      return;
    }
    var url = input.dataset.suggestionUrl + "?vector=" + encodeURIComponent(vector);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (answer) {
        // A slower answer to an older vector must not overwrite a newer one.
        if (!answer || ticket !== asked) {
          return;
        }
        hint.textContent = answer.text;
        if (answer.ok && answer.severity && !chosenByHand) {
          severity.value = String(answer.severity);
        }
      })
      .catch(function () {
        hint.textContent = "";
      });
  }
  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(suggest, 250);
  });
});
