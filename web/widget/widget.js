/*
 * My ScanSource chat widget. Embed it with one script tag:
 *
 *   <script>window.MyScanSourceChat = {server: "https://chat.example.com", token: "<portal JWT>"};</script>
 *   <script src="https://<web app>/widget/widget.js" defer></script>
 *
 * or, on pages whose Content-Security-Policy forbids inline scripts, with
 * data attributes on the same tag:
 *
 *   <script src="https://<web app>/widget/widget.js" data-server="..." data-token="..." defer></script>
 *
 * server:   the Rasa server (Socket.IO channel, channels/socket.py).
 * token:    optional: the short-lived JWT the portal signs for its logged-in
 *           user. Without it the conversation is anonymous.
 * getToken: optional function returning (a promise of) a fresh token; called
 *           on every (re)connection, so a long visit outlives one token.
 *
 * The widget loads widget.css and socket.io.min.js from where widget.js came
 * from. The server decides the conversation: session_confirm names it, and an
 * anonymous visitor gets a signed ticket, kept in localStorage, that resumes
 * it after a reload. The last 100 messages are kept per conversation.
 * Message text is always put in the page as text (textContent), never as HTML.
 */
(function () {
  "use strict";

  if (window.__myScanSourceChat) {
    return;
  }
  window.__myScanSourceChat = true;

  var script = document.currentScript || document.querySelector("script[src*='widget.js']");
  var base = new URL("./", script && script.src ? script.src : window.location.href);
  var given = window.MyScanSourceChat || {};
  var data = (script && script.dataset) || {};
  var config = {
    server: given.server || data.server || "",
    token: given.token || data.token || "",
    getToken: typeof given.getToken === "function" ? given.getToken : null
  };

  var HISTORY_PREFIX = "mss-chat:history:";
  var ANON_KEY = "mss-chat:anon";
  var OPEN_KEY = "mss-chat:open";
  var HISTORY_SIZE = 100;
  var MAX_CHARS = 5000;
  var TYPING_MS = 15000;
  var URL_PATTERN = /https?:\/\/[^\s<>"'`]+/g;
  var TRAILING = /[.,;:!?)\]}'"]+$/;
  var TEXT = {
    open: "Abrir chat",
    close: "Fechar chat",
    title: "Assistente My ScanSource",
    log: "Mensagens do chat",
    input: "Sua mensagem",
    placeholder: "Digite sua mensagem",
    send: "Enviar",
    you: "Você: ",
    bot: "Assistente: ",
    typing: "O assistente está digitando…",
    reconnecting: "Reconectando…",
    refused: "Não foi possível conectar ao chat. Recarregue a página.",
    download: "Baixar documento",
    downloadNote: "Arquivo PDF",
    replies: "Opções de resposta",
    image: "Imagem enviada pelo assistente",
    noServer: "O chat não está configurado nesta página."
  };

  // --- Storage (may be unavailable: private mode, blocked cookies) ----------

  function stored(area, key) {
    try {
      return window[area].getItem(key);
    } catch (e) {
      return null;
    }
  }

  function store(area, key, value) {
    try {
      if (value === null) {
        window[area].removeItem(key);
      } else {
        window[area].setItem(key, value);
      }
    } catch (e) { /* not kept: fine */ }
  }

  function loadHistory(id) {
    try {
      var list = JSON.parse(stored("localStorage", HISTORY_PREFIX + id) || "[]");
      return Array.isArray(list) ? list.slice(-HISTORY_SIZE) : [];
    } catch (e) {
      return [];
    }
  }

  // The conversation of a logged-in user is kept only while that user is the
  // one on this browser (another login, or a visit after logging out, drops it).
  function forgetOtherUsers(id) {
    try {
      for (var i = window.localStorage.length - 1; i >= 0; i--) {
        var key = window.localStorage.key(i);
        if (key && key.indexOf(HISTORY_PREFIX + "web:") === 0 && key !== HISTORY_PREFIX + id) {
          window.localStorage.removeItem(key);
        }
      }
    } catch (e) { /* nothing to forget */ }
  }

  // --- DOM helpers ------------------------------------------------------------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function safeUrl(value) {
    try {
      var url = new URL(value);
      return url.protocol === "http:" || url.protocol === "https:" ? url : null;
    } catch (e) {
      return null;
    }
  }

  function isDocument(url) {
    return url.pathname.indexOf("/documentos/") === 0;
  }

  function documentCard(url) {
    var card = el("a", "mss-chat-doc");
    card.href = url.href;
    card.target = "_blank";
    card.rel = "noopener noreferrer";
    card.appendChild(el("span", "mss-chat-doc-icon", "PDF")).setAttribute("aria-hidden", "true");
    var label = card.appendChild(el("span", "mss-chat-doc-label"));
    label.appendChild(el("strong", null, TEXT.download));
    label.appendChild(el("span", "mss-chat-doc-note", TEXT.downloadNote));
    return card;
  }

  // Text with its line breaks (CSS pre-wrap) and clickable http(s) links.
  function richText(parent, text) {
    var last = 0;
    var match;
    URL_PATTERN.lastIndex = 0;
    while ((match = URL_PATTERN.exec(text)) !== null) {
      var raw = match[0].replace(TRAILING, "");
      var url = safeUrl(raw);
      if (!url || !raw) {
        continue;
      }
      parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      if (isDocument(url)) {
        parent.appendChild(documentCard(url));
      } else {
        var link = el("a", "mss-chat-link", raw);
        link.href = url.href;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        parent.appendChild(link);
      }
      last = match.index + raw.length;
      URL_PATTERN.lastIndex = last;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  // --- The widget -------------------------------------------------------------

  var root = el("div", "mss-chat");
  root.setAttribute("data-state", "loading");
  var launcher = root.appendChild(el("button", "mss-chat-launcher"));
  launcher.type = "button";
  launcher.setAttribute("aria-label", TEXT.open);
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "mss-chat-panel");
  launcher.appendChild(el("span", "mss-chat-launcher-icon")).setAttribute("aria-hidden", "true");
  launcher.appendChild(el("span", "mss-chat-badge")).setAttribute("aria-hidden", "true");

  var panel = root.appendChild(el("section", "mss-chat-panel"));
  panel.id = "mss-chat-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-labelledby", "mss-chat-title");

  var header = panel.appendChild(el("header", "mss-chat-header"));
  header.appendChild(el("h2", "mss-chat-title", TEXT.title)).id = "mss-chat-title";
  var closer = header.appendChild(el("button", "mss-chat-close"));
  closer.type = "button";
  closer.setAttribute("aria-label", TEXT.close);
  closer.appendChild(el("span", null, "×")).setAttribute("aria-hidden", "true");

  var status = panel.appendChild(el("p", "mss-chat-status"));
  status.setAttribute("role", "status");
  var alertBox = panel.appendChild(el("p", "mss-chat-alert"));
  alertBox.setAttribute("role", "alert");

  var log = panel.appendChild(el("div", "mss-chat-log"));
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", TEXT.log);
  log.tabIndex = 0;

  var typing = panel.appendChild(el("div", "mss-chat-typing"));
  typing.hidden = true;
  typing.appendChild(el("span", "mss-chat-dots")).setAttribute("aria-hidden", "true");
  typing.appendChild(el("span", "mss-chat-sr", TEXT.typing));

  var form = panel.appendChild(el("form", "mss-chat-form"));
  var label = form.appendChild(el("label", "mss-chat-sr", TEXT.input));
  label.htmlFor = "mss-chat-input";
  var input = form.appendChild(el("input", "mss-chat-input"));
  input.id = "mss-chat-input";
  input.type = "text";
  input.autocomplete = "off";
  input.maxLength = MAX_CHARS;
  input.placeholder = TEXT.placeholder;
  var sendButton = form.appendChild(el("button", "mss-chat-send", TEXT.send));
  sendButton.type = "submit";

  var conversationId = null;
  var history = [];
  var socket = null;
  var refused = false;
  var typingTimer = null;

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function setStatus(text) {
    status.textContent = text;
    root.setAttribute("data-state", text ? "reconnecting" : refused ? "refused" : "ready");
  }

  function showTyping(on) {
    window.clearTimeout(typingTimer);
    typing.hidden = !on;
    if (on) {
      typingTimer = window.setTimeout(function () { typing.hidden = true; }, TYPING_MS);
      scrollDown();
    }
  }

  function removeReplies() {
    var groups = log.querySelectorAll(".mss-chat-replies");
    for (var i = 0; i < groups.length; i++) {
      groups[i].parentNode.removeChild(groups[i]);
    }
  }

  function renderReplies(buttons) {
    var group = el("div", "mss-chat-replies");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", TEXT.replies);
    buttons.forEach(function (option) {
      var button = group.appendChild(el("button", "mss-chat-reply", option.title));
      button.type = "button";
      button.addEventListener("click", function () {
        send(option.payload, option.title);
      });
    });
    log.appendChild(group);
  }

  function renderEntry(entry) {
    var bubble = el("div", "mss-chat-msg " + (entry.who === "user" ? "mss-chat-user" : "mss-chat-bot"));
    bubble.appendChild(el("span", "mss-chat-sr", entry.who === "user" ? TEXT.you : TEXT.bot));
    if (entry.image) {
      var url = safeUrl(entry.image);
      if (url) {
        var image = bubble.appendChild(el("img", "mss-chat-image"));
        image.src = url.href;
        image.alt = TEXT.image;
      }
    }
    if (entry.text) {
      richText(bubble.appendChild(el("span", "mss-chat-text")), entry.text);
    }
    log.appendChild(bubble);
  }

  function renderAll() {
    log.textContent = "";
    history.forEach(renderEntry);
    var last = history[history.length - 1];
    if (last && last.who === "bot" && last.buttons && last.buttons.length) {
      renderReplies(last.buttons);
    }
    scrollDown();
  }

  function remember(entry) {
    history.push(entry);
    history = history.slice(-HISTORY_SIZE);
    if (conversationId) {
      store("localStorage", HISTORY_PREFIX + conversationId, JSON.stringify(history));
    }
  }

  function add(entry) {
    remember(entry);
    removeReplies();
    renderEntry(entry);
    if (entry.buttons && entry.buttons.length) {
      renderReplies(entry.buttons);
    }
    scrollDown();
  }

  function send(message, shown) {
    if (refused || !socket) {
      return;
    }
    add({ who: "user", text: shown });
    socket.emit("user_uttered", { message: message });
    showTyping(true);
  }

  function fromBot(message) {
    if (!message || typeof message !== "object") {
      return;
    }
    var entry = { who: "bot", text: typeof message.text === "string" ? message.text : "" };
    if (Array.isArray(message.quick_replies)) {
      entry.buttons = message.quick_replies.filter(function (option) {
        return option && typeof option.title === "string" && typeof option.payload === "string";
      }).map(function (option) {
        return { title: option.title, payload: option.payload };
      });
    }
    var attachment = message.attachment;
    if (attachment && attachment.type === "image" && attachment.payload &&
        typeof attachment.payload.src === "string") {
      entry.image = attachment.payload.src;
    }
    if (!entry.text && !entry.image) {
      return;
    }
    showTyping(false);
    add(entry);
    if (panel.hidden) {
      root.classList.add("mss-chat-unread");
    }
  }

  function confirmed(data) {
    var id = typeof data === "string" ? data : data && data.session_id;
    if (typeof id !== "string" || !id) {
      return;
    }
    if (data && typeof data.anon === "string") {
      store("localStorage", ANON_KEY, data.anon);
    }
    forgetOtherUsers(id);
    if (id !== conversationId) {
      // What was said before the first confirmation belongs to this conversation.
      var early = conversationId === null ? history : [];
      conversationId = id;
      history = loadHistory(id).concat(early).slice(-HISTORY_SIZE);
      if (early.length) {
        store("localStorage", HISTORY_PREFIX + id, JSON.stringify(history));
      }
      renderAll();
    }
  }

  function refuse(error) {
    refused = true;
    var reason = error && error.data && error.data.reason;
    if (reason === "anon_ticket") {
      store("localStorage", ANON_KEY, null);
    }
    alertBox.textContent = reason && error.message ? error.message : TEXT.refused;
    input.disabled = true;
    sendButton.disabled = true;
    showTyping(false);
    setStatus("");
  }

  function authenticate(callback) {
    function withToken(token) {
      callback(token ? { token: String(token) } : anonymous());
    }
    function anonymous() {
      var ticket = stored("localStorage", ANON_KEY);
      return ticket ? { anon: ticket } : {};
    }
    if (config.getToken) {
      Promise.resolve().then(config.getToken).then(withToken, function () { withToken(config.token); });
    } else {
      withToken(config.token);
    }
  }

  function connect(io) {
    // WebSocket first (no transport upgrade midway), long-polling when a
    // network does not let WebSockets through.
    socket = io(config.server, {
      auth: authenticate,
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnectionDelayMax: 10000
    });
    socket.on("connect", function () {
      setStatus("");
      socket.emit("session_request", {});
    });
    socket.on("session_confirm", confirmed);
    socket.on("bot_uttered", fromBot);
    socket.on("disconnect", function (reason) {
      if (reason !== "io client disconnect") {
        setStatus(TEXT.reconnecting);
      }
    });
    socket.on("connect_error", function (error) {
      if (socket.active) {
        setStatus(TEXT.reconnecting);  // the server is unreachable: socket.io retries
      } else {
        refuse(error);  // the server said no: no retry loop
      }
    });
  }

  function open() {
    panel.hidden = false;
    root.classList.add("mss-chat-open");
    root.classList.remove("mss-chat-unread");
    launcher.setAttribute("aria-expanded", "true");
    store("sessionStorage", OPEN_KEY, "1");
    scrollDown();
    (input.disabled ? closer : input).focus();
  }

  function close() {
    panel.hidden = true;
    root.classList.remove("mss-chat-open");
    launcher.setAttribute("aria-expanded", "false");
    store("sessionStorage", OPEN_KEY, null);
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    if (panel.hidden) {
      open();
    } else {
      close();
    }
  });
  closer.addEventListener("click", close);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) {
      return;
    }
    input.value = "";
    send(text.slice(0, MAX_CHARS), text.slice(0, MAX_CHARS));
  });

  function loadScript(src, done, failed) {
    var tag = document.createElement("script");
    tag.src = src;
    tag.async = true;
    tag.onload = done;
    tag.onerror = failed;
    document.head.appendChild(tag);
  }

  function start() {
    var css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = new URL("widget.css", base).href;
    document.head.appendChild(css);
    document.body.appendChild(root);
    if (stored("sessionStorage", OPEN_KEY)) {
      panel.hidden = false;
      root.classList.add("mss-chat-open");
      launcher.setAttribute("aria-expanded", "true");
    }
    if (!config.server) {
      refuse({ message: TEXT.noServer, data: { reason: "config" } });
      return;
    }
    // Our Socket.IO client, without replacing one the page may have.
    var pageIo = window.io;
    loadScript(new URL("socket.io.min.js", base).href, function () {
      var io = window.io;
      if (pageIo === undefined) {
        try { delete window.io; } catch (e) { window.io = undefined; }
      } else {
        window.io = pageIo;
      }
      if (typeof io !== "function") {
        refuse(null);
        return;
      }
      connect(io);
    }, function () {
      refuse(null);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
