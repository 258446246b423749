/* adtrack snippet: visits, orders and custom events from a partner or advertiser page, sent
 * to the tracker this file was loaded from.
 *   <script async src="https://TRACKER/t.js" data-site="SITE_KEY"></script>
 * Calls made before it loads are queued by an optional stub and replayed here:
 *   window.adtrack=window.adtrack||function(){(adtrack.q=adtrack.q||[]).push(arguments)}
 *   adtrack('order', {order_id, amount, currency, props}); adtrack('event', name, props);
 *   adtrack('visit') records a virtual page view (single-page apps).
 *   adtrack.share(medium) returns this page's URL as a share link (`adt_ref=<visitor id>`) and
 *   records event "share" {medium: qq, wechat, weibo, email, sms, blog, forum, link...};
 *   adtrack('share', medium) records the same from the queue. A visit whose URL carries
 *   `adt_ref` sends it as `ref_id`: the sharer who brought this visitor.
 * Links on the page to this tracker's /c/ and /k/ routes get `vid=<visitor id>`, so the
 * click is recorded for the visitor this page knows (the same person as its impressions).
 * Ids live in first-party cookies on the page's own domain (localStorage when cookies are
 * off); nothing third-party. It never throws into the host page and defines no global but
 * `adtrack`. ES5 syntax on purpose: old in-app WebViews still carry much mobile traffic. */
(function (w, d) {
  var old = w.adtrack;
  if (old && old.v) return; // embedded twice: the first copy already counted the visit
  var nav = navigator, loc = location, q = [], i,
    me, site, base, host, domain, cid, vid, pv, here, seen, shown, timer,
    ID = /^[\w.-]{1,128}$/;

  function safe(f) {
    return function (a, b) { try { f(a, b); } catch (e) { /* never break the host page */ } };
  }

  function cut(s, n) { return s == null ? null : String(s).slice(0, n || 4096); }

  function param(k) {
    var m = loc.search.match('[?&]' + k + '=([^&]*)');
    try { return m && decodeURIComponent(m[1].replace(/\+/g, ' ')); } catch (e) { /* bad % */ }
  }

  // Sandboxed frames throw on both cookie and storage access: ids then last one page.
  function read(k) {
    try {
      var m = d.cookie.match('(?:^|; )' + k + '=([\\w.-]+)');
      if (m) return m[1];
      m = localStorage.getItem(k).split(' ');
      if (m[1] > Date.now()) return m[0];
    } catch (e) { /* no storage, or no value */ }
  }

  function write(k, v, sec) {
    try {
      // Host-only unless the page names its registrable domain (data-domain="shop.com") to
      // share ids across its subdomains.
      d.cookie = k + '=' + v + '; Max-Age=' + sec + '; Path=/; SameSite=Lax' +
        (domain ? '; Domain=' + domain : '') + (loc.protocol == 'https:' ? '; Secure' : '');
      if (read(k) != v) localStorage.setItem(k, v + ' ' + (Date.now() + sec * 1e3));
    } catch (e) { /* neither cookies nor storage */ }
  }

  function rid(n) { // n random characters from [0-9a-z]
    var b = crypto.getRandomValues(new Uint8Array(n)), s = '', j = 0;
    while (j < n) s += (b[j++] % 36).toString(36);
    return s;
  }

  function post(events) {
    var url = base + '/e', sid = read('_adt_sid') || rid(12),
      body = JSON.stringify({ s: site, vid: vid, sid: sid, events: events });
    write('_adt_sid', sid, 1800); // every hit pushes the 30-minute inactivity window on
    function pixel() {
      events.forEach(function (ev) {
        var src = base + '/p.gif?s=' + encodeURIComponent(site) + '&vid=' + vid + '&sid=' + sid, k;
        for (k in ev) if (k != 'p') src += '&' + k + '=' + encodeURIComponent(ev[k]); // flat: no props
        new Image().src = src;
      });
    }
    // text/plain keeps the cross-origin POST "simple": no CORS preflight.
    try {
      if (nav.sendBeacon(url, new Blob([body], { type: 'text/plain' }))) return;
    } catch (e) { /* no beacon */ }
    try {
      fetch(url, { method: 'POST', body: body, keepalive: true, credentials: 'omit' })
        .catch(pixel);
    } catch (e) { pixel(); }
  }

  function flush() {
    clearTimeout(timer);
    timer = 0;
    while (q.length) post(q.splice(0, 50));
  }

  function push(ev) {
    ev.pv = pv;
    ev.cid = cid;
    ev.url = ev.url || cut(loc.href);
    ev.ts = Date.now();
    for (var k in ev) if (ev[k] == null || ev[k] === '') delete ev[k];
    q.push(ev);
    timer = timer || setTimeout(safe(flush), 0); // one request for what one task records
  }

  function props(p) { // at most 32 string values: what the tracker accepts
    var o = {}, n = 0, k, v;
    for (k in p) {
      if (n < 32 && (v = p[k]) != null) {
        o[cut(k, 64)] = cut(typeof v == 'object' ? JSON.stringify(v) : v, 1024);
        n++;
      }
    }
    return n ? o : null;
  }

  function leave() { // once per hidden period; d is the page view's visible ms so far
    if (shown) {
      seen += Date.now() - shown;
      shown = 0;
      push({ e: 'event', n: 'page_leave', d: Math.min(seen, 864e5), url: here });
      flush();
    }
  }

  function visit() {
    leave(); // a virtual page view ends the previous one
    var ev = {
      e: 'visit', ref: cut(here || d.referrer), url: here = cut(loc.href),
      sr: screen.width + 'x' + screen.height, lang: nav.language,
    };
    var sharer = param('adt_ref'); // on a share link's landing (and its reloads)
    if (sharer && ID.test(sharer)) ev.ref_id = sharer;
    'source medium campaign term content'.replace(/\w+/g, function (k) {
      ev['utm_' + k] = cut(param('utm_' + k), 256);
    });
    pv = rid(12);
    seen = 0;
    shown = d.visibilityState == 'hidden' ? 0 : Date.now();
    push(ev);
  }

  // `h` without the parameters `re` matches, then `kv` added before the fragment.
  function swap(h, re, kv) {
    var at = h.indexOf('#'), u;
    if (at < 0) at = h.length;
    u = h.slice(0, at).replace(re, '');
    if (u.indexOf('?') < 0) u = u.replace('&', '?'); // the first parameter was dropped
    return u + (u.indexOf('?') < 0 ? '?' : '&') + kv + h.slice(at);
  }

  // This page as a share link: no click id (a friend's visit is not the sharer's click), the
  // sharer's own visitor id as `adt_ref` in place of any earlier sharer's.
  function share(medium) {
    push({ e: 'event', n: 'share', p: { medium: cut(medium || 'link', 64) } });
    return swap(loc.href, /[?&]adt_(cid|ref)=[^&#]*/g, 'adt_ref=' + vid);
  }

  // Tracked links on this page (/c/CODE, /k/PLACEMENT) carry our visitor id to the redirect,
  // whose own cookie, on the tracker's domain, is another visitor id. Run at start, when the
  // document is parsed, and as a link is pressed (so links added later are tagged too).
  function tag() {
    for (var j = 0, a = d.links, h, u; j < a.length; j++) {
      h = a[j].href; // an SVG link's is an object: never ours
      u = String(h).replace(/^https?:/, '');
      if (!u.indexOf(host) && /^\/[ck]\//.test(u.slice(host.length))) {
        u = swap(h, /[?&]vid=[^&#]*/g, 'vid=' + vid);
        if (u != h) a[j].href = u;
      }
    }
  }

  var commands = {
    visit: visit,
    order: function (o) {
      o = o || {};
      push({ e: 'order', oid: cut(o.order_id, 128), amt: o.amount, cur: o.currency,
        p: props(o.props) });
    },
    event: function (n, p) {
      push({ e: 'event', n: cut(n, 128), p: props(p) });
    },
    share: share,
  };

  try {
    me = d.currentScript || d.querySelector('script[src$="/t.js"][data-site]');
    site = me && me.getAttribute('data-site');
    if (!site) return;
    domain = me.getAttribute('data-domain');
    base = me.src.replace(/\/t\.js([?#].*)?$/, '');
    host = base.replace(/^https?:/, '');

    // The click id from the tracked link's landing URL, kept so later pages carry it.
    cid = param('adt_cid');
    if (cid && ID.test(cid)) write('_adt_cid', cid, 2592e3); // 30 days
    else cid = read('_adt_cid');
    vid = read('_adt_vid') || rid(16);
    write('_adt_vid', vid, 63072e3); // 2 years

    var api = function (c, a, b) { safe(commands[c])(a, b); };
    api.v = 1;
    api.share = function (medium) { // the share link; the page's own URL if anything fails
      try { return share(medium); } catch (e) { return loc.href; }
    };
    w.adtrack = api;
    d.addEventListener('visibilitychange', safe(function () {
      if (d.visibilityState == 'hidden') leave();
      else shown = shown || Date.now();
    }));
    w.addEventListener('pagehide', safe(leave));
    'DOMContentLoaded mousedown touchstart click'.replace(/\w+/g, function (k) {
      d.addEventListener(k, safe(tag), true);
    });
    tag();
    visit();
    for (i = 0; old && old.q && i < old.q.length; i++) api.apply(0, old.q[i]);
  } catch (e) { /* never break the host page */ }
})(window, document);
