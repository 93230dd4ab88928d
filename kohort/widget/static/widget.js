// Kohort's thank-you widget: the project's own script, with no dependency. The shop's
// order-confirmation page adds it with data-key (pk_…), data-order (the shop's order
// reference) and data-token (the reference's HMAC-SHA256 with the widget secret, computed by
// the shop's server). It waits for the order to be registered, then shows its group's code,
// the share actions and the cashback ladder for this basket, in a shadow root: the shop's CSS
// cannot reach it, its own cannot leak. Dismissed once, it stays dismissed on this browser.
(function () {
  "use strict";
  var script = document.currentScript ||
    document.querySelector("script[data-order][src*='widget.js']");
  if (!script) { return; }
  var key = script.getAttribute("data-key") || "";
  var order = script.getAttribute("data-order") || "";
  var token = script.getAttribute("data-token") || "";
  var base = new URL(script.src, document.baseURI).origin;
  var memory = "kohort-widget:" + key + ":" + order;
  var DELAYS = [0, 1000, 1000, 2000, 3000, 5000, 8000, 13000, 21000];

  function remembered() {
    try { return window.localStorage.getItem(memory) === "dismissed"; } catch (e) { return false; }
  }
  if (!key || !order || !token || remembered()) { return; }

  function beacon(code, channel) {
    if (!navigator.sendBeacon) { return; }
    var body = JSON.stringify({ code: code, channel: channel, view: "widget" });
    navigator.sendBeacon(base + "/share-events", new Blob([body], { type: "text/plain" }));
  }

  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  var CSS = ":host{all:initial!important;display:block!important}" +
    "*{box-sizing:border-box}" +
    ".box{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1b1d21;background:#fff;" +
    "border:1px solid #d5d8dd;border-radius:12px;max-width:30rem;margin:1rem auto;overflow:hidden;text-align:left}" +
    ".band{display:flex;align-items:center;gap:.6rem;padding:.6rem .8rem;background:var(--brand);color:var(--on-brand)}" +
    ".band img{max-height:2rem;max-width:6rem;background:#fff;border-radius:4px;padding:.1rem}" +
    ".band strong{flex:1;font-size:1rem}" +
    ".close{font:inherit;font-size:1.3rem;line-height:1;background:none;border:0;color:inherit;cursor:pointer;padding:.25rem .5rem}" +
    ".body{padding:.8rem}" +
    "h2{font-size:1.05rem;margin:0 0 .6rem}" +
    "label{display:block;font-weight:600;margin:0 0 .25rem}" +
    ".code{width:100%;font:700 1.35rem/1.2 ui-monospace,Menlo,Consolas,monospace;text-align:center;padding:.45rem;border:2px solid #6b7079;border-radius:8px;background:#fff;color:#1b1d21}" +
    ".actions{display:grid;grid-template-columns:repeat(auto-fit,minmax(7.5rem,1fr));gap:.4rem;margin:.6rem 0}" +
    ".action{display:block;text-align:center;font:inherit;font-weight:700;padding:.55rem .4rem;border:0;border-radius:8px;" +
    "background:var(--brand);color:var(--on-brand);text-decoration:none;cursor:pointer}" +
    ".action:focus,.close:focus,.code:focus{outline:3px solid #ffbf47;outline-offset:2px}" +
    "ul{list-style:none;margin:.4rem 0;padding:0}" +
    "li{padding:.35rem .6rem;border:1px solid #d5d8dd;border-radius:8px;margin:0 0 .3rem}" +
    "li.reached{border-color:var(--accent)}" +
    ".note{color:#4a4f57;font-size:.85rem;margin:.4rem 0 0}";

  function render(data) {
    var host = el("div", { "data-kohort-widget": "" });
    var shadow = host.attachShadow({ mode: "open" });
    var style = el("style", {}, CSS +
      ":host{--brand:" + data.brand.color + ";--on-brand:" + data.brand.textColor +
      ";--accent:" + data.brand.accentColor + "}");
    var box = el("section", { "class": "box", "role": "region", "aria-label": data.texts.title, "lang": data.locale.replace("_", "-") });
    var band = el("div", { "class": "band" });
    if (data.brand.logoUrl) { band.appendChild(el("img", { src: data.brand.logoUrl, alt: "" })); }
    band.appendChild(el("strong", {}, data.brand.shopName));
    var close = el("button", { type: "button", "class": "close", "aria-label": data.texts.close }, "\u00d7");
    band.appendChild(close);
    box.appendChild(band);
    var body = el("div", { "class": "body" });
    body.appendChild(el("h2", {}, data.texts.title));
    body.appendChild(el("label", { "for": "kohort-code" }, data.texts.codeLabel));
    body.appendChild(el("input", { id: "kohort-code", "class": "code", type: "text", value: data.code, readonly: "" }));
    var status = el("p", { "class": "note", role: "status" });
    var actions = el("div", { "class": "actions" });

    function copier(label, text) {
      if (!navigator.clipboard) { return; }
      var button = el("button", { type: "button", "class": "action", "data-channel": "copy" }, label);
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(text).then(function () {
          status.textContent = data.texts.copied;
          beacon(data.code, "copy");
        }, function () { status.textContent = data.texts.copyFailed; });
      });
      actions.appendChild(button);
    }

    copier(data.texts.copy, data.code);
    [["whatsapp", "WhatsApp"], ["sms", data.texts.sms], ["email", data.texts.email], ["telegram", "Telegram"]]
      .forEach(function (pair) {
        var link = el("a", { "class": "action", href: data.links[pair[0]], "data-channel": pair[0], rel: "noopener noreferrer" }, pair[1]);
        if (pair[0] === "whatsapp" || pair[0] === "telegram") { link.setAttribute("target", "_blank"); }
        link.addEventListener("click", function () { beacon(data.code, pair[0]); });
        actions.appendChild(link);
      });
    copier(data.texts.copyLink, data.inviteUrl);
    if (navigator.share) {
      var share = el("button", { type: "button", "class": "action", "data-channel": "native" }, data.texts.share);
      share.addEventListener("click", function () {
        navigator.share({ title: data.brand.shopName, text: data.message, url: data.inviteUrl })
          .then(function () { beacon(data.code, "native"); }, function () {});
      });
      actions.appendChild(share);
    }
    body.appendChild(actions);
    var ladder = el("ul", {});
    data.ladder.forEach(function (rung) {
      ladder.appendChild(el("li", rung.reached ? { "class": "reached" } : {}, rung.text));
    });
    body.appendChild(ladder);
    body.appendChild(el("p", { "class": "note" }, data.texts.timeLeft));
    body.appendChild(status);
    box.appendChild(body);
    shadow.appendChild(style);
    shadow.appendChild(box);
    close.addEventListener("click", function () {
      try { window.localStorage.setItem(memory, "dismissed"); } catch (e) { /* private mode */ }
      host.remove();
    });
    var parent = script.parentNode;
    if (parent && parent !== document.head && document.body && document.body.contains(script)) {
      parent.insertBefore(host, script.nextSibling);
    } else {
      document.body.appendChild(host);
    }
    beacon(data.code, "shown");
  }

  var url = base + "/widget/order?key=" + encodeURIComponent(key) +
    "&order=" + encodeURIComponent(order) + "&token=" + encodeURIComponent(token);

  function attempt(index) {
    if (index >= DELAYS.length) { return; }
    window.setTimeout(function () {
      fetch(url, { credentials: "omit" }).then(function (response) {
        if (response.ok) { return response.json().then(render); }
        if (response.status === 404 || response.status === 429) { attempt(index + 1); }
      }, function () { attempt(index + 1); });
    }, DELAYS[index]);
  }
  attempt(0);
})();
