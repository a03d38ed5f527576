// The web chat without page reloads: the form's fields go to the JSON endpoint; the
// conversation token stays in this page's memory (and the hidden field), never in a
// cookie or the URL. Without this script the same form posts and the page reloads.
(function () {
  "use strict";
  var form = document.getElementById("chat-form");
  if (!form || !window.fetch) { return; }
  var main = document.querySelector(".chat");
  var list = document.getElementById("messages");
  var choices = document.getElementById("choices");
  var text = document.getElementById("text");
  var send = document.getElementById("send");
  var error = document.getElementById("error");
  var token = document.getElementById("token");
  var school = main.getAttribute("data-school");
  var you = null;
  var busy = false;
  // Replies that come later (the chat was busy, or the office answers): the page asks
  // for the conversation again — soon after a pending message, then every 20 seconds
  // for ten minutes after the person last wrote, while the page is visible.
  var timer = null;
  var polls = 0;

  function render(messages) {
    list.textContent = "";
    choices.textContent = "";
    messages.forEach(function (m, i) {
      var li = document.createElement("li");
      li.className = "msg " + m.from;
      var who = document.createElement("span");
      who.className = "who";
      who.textContent = m.from === "you" ? (you || "") : main.getAttribute("data-name");
      var p = document.createElement("p");
      p.setAttribute("dir", "auto");
      p.textContent = m.text;
      li.appendChild(who);
      li.appendChild(p);
      list.appendChild(li);
      if (i === messages.length - 1) {
        (m.choices || []).forEach(function (c) {
          var b = document.createElement("button");
          b.type = "button";
          b.className = "choice";
          b.textContent = c.title;
          b.addEventListener("click", function () { post({ choice: { id: c.id, title: c.title } }, c.title); });
          choices.appendChild(b);
        });
      }
    });
    list.scrollTop = list.scrollHeight;
    if (list.lastElementChild) { list.lastElementChild.scrollIntoView({ block: "end" }); }
  }

  function showError(msg) {
    error.textContent = msg || "";
    error.hidden = !msg;
  }

  function schedule(pending) {
    if (timer) { clearTimeout(timer); }
    if (!token.value || polls >= 30) { return; }
    timer = setTimeout(refresh, pending ? 2000 : 20000);
  }

  function refresh() {
    timer = null;
    if (busy || !token.value) { return; }
    if (document.hidden) { schedule(false); return; }
    polls += 1;
    fetch("/chat/" + encodeURIComponent(school) + "/messages", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ token: token.value, refresh: true }),
      credentials: "omit",
      referrerPolicy: "no-referrer"
    }).then(function (res) {
      return res.ok ? res.json() : null;
    }).then(function (data) {
      if (data && !busy && data.messages.length !== list.children.length) { render(data.messages); }
      schedule(false);
    }).catch(function () { schedule(false); });
  }

  function post(body, shown) {
    if (busy) { return; }
    busy = true;
    send.disabled = true;
    showError("");
    if (token.value) { body.token = token.value; }
    fetch("/chat/" + encodeURIComponent(school) + "/messages", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
      referrerPolicy: "no-referrer"
    }).then(function (res) {
      return res.json().then(function (data) { return { ok: res.ok, data: data }; });
    }).then(function (r) {
      if (!r.ok) { showError(r.data && r.data.error); return; }
      token.value = r.data.token;
      render(r.data.messages);
      text.value = "";
      polls = 0;
      schedule(r.data.pending);
    }).catch(function () {
      showError("The message could not be sent; check the connection and try again.");
    }).then(function () {
      busy = false;
      send.disabled = false;
      text.focus();
    });
  }

  var first = list.querySelector(".msg.you .who");
  you = first ? first.textContent : (document.documentElement.lang === "ur" ? "آپ" : document.documentElement.lang === "ar" ? "أنت" : "You");
  // Buttons rendered by the server (the page after a form post) go through the script too.
  Array.prototype.forEach.call(choices.querySelectorAll("button.choice"), function (b) {
    b.type = "button";
    var id = b.value.split("|")[0];
    b.addEventListener("click", function () { post({ choice: { id: id, title: b.textContent.trim() } }); });
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var t = text.value.trim();
    if (!t) { return; }
    post({ text: t });
  });
})();
