// Sésame's progressive enhancement: every page works without this file. It adds a live
// checklist of the password rules, a show/hide button on password fields, and moves focus
// to the error summary after a refused post. The words come from data-* attributes that
// the server renders in the page's language.
(function () {
  "use strict";

  // After a refused post, the summary is the first thing a keyboard or screen-reader user meets.
  function focusErrorSummary() {
    var summary = document.getElementById("error-summary");
    if (!summary) return;
    summary.focus();
    // Its links lead to the field itself, not just to where it is on the page.
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      if (!link) return;
      var target = document.getElementById(link.getAttribute("href").slice(1));
      if (!target) return;
      // A group of fields (a fieldset, both identification fields): its first field.
      if (!/^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName)) target = target.querySelector("input, select, textarea") || target;
      event.preventDefault();
      target.focus();
      target.scrollIntoView({ block: "center" });
    });
  }

  function addToggle(input) {
    var wrapper = document.createElement("div");
    wrapper.className = "password-input";
    input.parentNode.insertBefore(wrapper, input);
    wrapper.appendChild(input);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "password-toggle";
    button.setAttribute("aria-controls", input.id);
    var status = document.createElement("span");
    status.className = "visually-hidden";
    status.setAttribute("aria-live", "polite");
    wrapper.appendChild(button);
    wrapper.appendChild(status);
    var label = document.querySelector("label[for='" + input.id + "']");
    function render(shown) {
      input.type = shown ? "text" : "password";
      button.textContent = shown ? input.dataset.hide : input.dataset.show;
      // Names the field too, since several toggles can share a page.
      button.setAttribute("aria-label", button.textContent + (label ? input.dataset.colon + " " + label.textContent.trim() : ""));
    }
    button.addEventListener("click", function () {
      var shown = input.type === "password";
      render(shown);
      status.textContent = shown ? input.dataset.shown : input.dataset.hidden;
    });
    // A password must never be submitted, nor remembered by the browser, as plain text.
    if (input.form) input.form.addEventListener("submit", function () { render(false); });
    render(false);
  }

  var checks = {
    length: function (p, list) { var n = Array.from(p).length; return n >= +list.dataset.min && n <= +list.dataset.max; },
    lowercase: function (p) { return /[a-z]/.test(p); },
    uppercase: function (p) { return /[A-Z]/.test(p); },
    digit: function (p) { return /[0-9]/.test(p); },
    special: function (p, list) { return Array.from(p).some(function (c) { return list.dataset.special.indexOf(c) >= 0; }); },
    no_whitespace: function (p) { return p.length > 0 && !/\s/.test(p); }
  };

  function liveChecklist() {
    var list = document.getElementById("password-rules");
    var input = document.getElementById("password");
    if (!list || !input) return;
    var status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    list.parentNode.insertBefore(status, list.nextSibling);
    var items = Array.from(list.querySelectorAll("li[data-rule]"));
    // After a refused post the server shows where the refused password stood (the field comes
    // back empty): that state stays until the person types.
    var fromServer = list.querySelector("li.met, li.unmet") !== null;
    items.forEach(function (item) {
      var state = item.querySelector(".rule-state");
      if (!state) {
        state = document.createElement("span");
        state.className = "rule-state";
        item.appendChild(document.createTextNode(" "));
        item.appendChild(state);
      }
      if (!checks[item.dataset.rule]) {
        item.classList.add("later");
        state.textContent = "(" + list.dataset.later + ")";
      }
    });
    var timer;
    function update() {
      var met = 0, total = 0;
      items.forEach(function (item) {
        var check = checks[item.dataset.rule];
        if (!check) return;
        var ok = check(input.value, list);
        total += 1;
        if (ok) met += 1;
        item.classList.toggle("met", ok);
        item.classList.toggle("unmet", !ok);
        item.querySelector(".rule-state").textContent = "(" + (ok ? list.dataset.met : list.dataset.unmet) + ")";
      });
      // Announced once the person pauses, not at every key.
      clearTimeout(timer);
      timer = setTimeout(function () {
        status.textContent = list.dataset.status.replace("{met}", met).replace("{total}", total);
      }, 900);
    }
    input.addEventListener("input", update);
    list.classList.add("live");
    if (!fromServer) {
      update();
      clearTimeout(timer);
    }
  }

  // A field that only counts after a choice (the phone once SMS are accepted, one's own
  // question once "write my own" is chosen) is shown with that choice; without this script
  // every field stays visible. A field with an error is never hidden.
  function conditionalFields() {
    document.querySelectorAll("[data-shown-if]").forEach(function (field) {
      var rule = field.dataset.shownIf.split("=");
      var form = field.closest("form");
      if (!form) return;
      var controls = Array.from(form.elements).filter(function (c) { return c.name === rule[0]; });
      if (!controls.length) return;
      function chosen() {
        return controls.some(function (c) {
          return c.type === "radio" || c.type === "checkbox" ? c.checked && c.value === rule[1] : c.value === rule[1];
        });
      }
      function update() { field.hidden = !chosen() && !field.classList.contains("invalid"); }
      controls.forEach(function (c) { c.addEventListener("change", update); });
      update();
    });
  }

  function start() {
    document.querySelectorAll("input[type='password'][data-show]").forEach(addToggle);
    liveChecklist();
    conditionalFields();
    focusErrorSummary();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
