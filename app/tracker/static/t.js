/* adtrack snippet: visits, orders and custom events from a partner or advertiser page, sent
 * to the tracker this file was loaded from.
 *   <script async src="https://TRACKER/t.js" data-site="SITE_KEY"></script>
 * Calls made before it loads are queued by an optional stub and replayed here:
 *   window.adtrack=window.adtrack||function(){(adtrack.q=adtrack.q||[]).push(arguments)}
 *   adtrack('order', {order_id, amount, currency, props}); adtrack('event', name, props);
 *   adtrack('visit') records a virtual page view (single-page apps).
 * Ids live in first-party cookies on the page's own domain (localStorage when cookies are
 * off); nothing third-party. It never throws into the host page and defines no global but
 * `adtrack`. ES5 syntax on purpose: old in-app WebViews still carry much mobile traffic. */
(function (w, d) {
  var old = w.adtrack;
  if (old && old.v) return; // embedded twice: the first copy already counted the visit
  var nav = navigator, loc = location, q = [], i,
    me, site, base, domain, cid, vid, pv, here, seen, shown, timer;

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
    'source medium campaign term content'.replace(/\w+/g, function (k) {
      ev['utm_' + k] = cut(param('utm_' + k), 256);
    });
    pv = rid(12);
    seen = 0;
    shown = d.visibilityState == 'hidden' ? 0 : Date.now();
    push(ev);
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
  };

  try {
    me = d.currentScript || d.querySelector('script[src$="/t.js"][data-site]');
    site = me && me.getAttribute('data-site');
    if (!site) return;
    domain = me.getAttribute('data-domain');
    base = me.src.replace(/\/t\.js([?#].*)?$/, '');

    // The click id from the tracked link's landing URL, kept so later pages carry it.
    cid = param('adt_cid');
    if (cid && /^[\w.-]{1,128}$/.test(cid)) write('_adt_cid', cid, 2592e3); // 30 days
    else cid = read('_adt_cid');
    vid = read('_adt_vid') || rid(16);
    write('_adt_vid', vid, 63072e3); // 2 years

    var api = function (c, a, b) { safe(commands[c])(a, b); };
    api.v = 1;
    w.adtrack = api;
    d.addEventListener('visibilitychange', safe(function () {
      if (d.visibilityState == 'hidden') leave();
      else shown = shown || Date.now();
    }));
    w.addEventListener('pagehide', safe(leave));
    visit();
    for (i = 0; old && old.q && i < old.q.length; i++) api.apply(0, old.q[i]);
  } catch (e) { /* never break the host page */ }
})(window, document);
