/* adtrack snippet: visits, orders and custom events from a partner or advertiser page, sent
 * to the tracker this file was loaded from.
 *   <script async src="https://TRACKER/t.js" data-site="SITE_KEY"></script>
 * Calls made before it loads are queued by an optional stub and replayed here:
 *   window.adtrack=window.adtrack||function(){(adtrack.q=adtrack.q||[]).push(arguments)}
 *   adtrack('order', {order_id, amount, currency, props}); adtrack('event', name, props);
 *   adtrack('visit') records a virtual page view (single-page apps).
 * Ids live in first-party cookies on the page's own domain (localStorage when cookies are
 * off); nothing third-party. It must never throw into the host page, and defines no global
 * but `adtrack`. */
(function (w, d) {
  'use strict';
  var old = w.adtrack;
  if (old && old.v) return; // embedded twice: the first copy already counted the visit
  var nav = navigator, loc = location, DAY = 86400, q = [], i,
    me, site, base, domain, cid, vid, pv, here, seen, shown, timer;

  function safe(f) {
    return function (a, b) { try { f(a, b); } catch (e) { /* never break the host page */ } };
  }

  function read(k) {
    var m = d.cookie.match('(?:^|; )' + k + '=([\\w.-]+)');
    if (m) return m[1];
    try {
      m = localStorage.getItem(k).split(' ');
      if (m[1] > Date.now()) return m[0];
    } catch (e) { /* no storage or no value */ }
  }

  function cookie(k, v, sec, dom) {
    d.cookie = k + '=' + v + '; Max-Age=' + sec + '; Path=/; SameSite=Lax' +
      (dom ? '; Domain=' + dom : '') + (loc.protocol == 'https:' ? '; Secure' : '');
  }

  function write(k, v, sec) {
    if (domain == null) {
      // The widest domain the browser accepts (shop.com for www.shop.com; public suffixes
      // such as com.cn are refused), so ids carry across the partner's subdomains.
      var parts = loc.hostname.split('.'), j = parts.length - 1, dom;
      for (domain = ''; j-- > 0 && !domain;) {
        cookie('_adt_t', 1, 9, dom = parts.slice(j).join('.'));
        if (/(^|; )_adt_t=1/.test(d.cookie)) cookie('_adt_t', 1, -1, domain = dom);
      }
    }
    cookie(k, v, sec, domain);
    if (read(k) != v) {
      try { localStorage.setItem(k, v + ' ' + (Date.now() + sec * 1e3)); } catch (e) { /* none */ }
    }
  }

  function rid(n) { // n random bytes as URL-safe base64 ([A-Za-z0-9_-])
    var b = new Uint8Array(n), j;
    try { crypto.getRandomValues(b); } catch (e) {
      for (j = 0; j < n; j++) b[j] = Math.random() * 256;
    }
    return btoa(String.fromCharCode.apply(0, b)).replace(/[+/]/g, (c) => c == '+' ? '-' : '_');
  }

  function session() { // every hit pushes the 30-minute inactivity window on
    var s = read('_adt_sid') || rid(9);
    write('_adt_sid', s, 1800);
    return s;
  }

  function post(events) {
    var url = base + '/e', sid = session(),
      body = JSON.stringify({ s: site, vid: vid, sid: sid, events: events });
    var pixel = () => events.forEach((ev) => {
      ev = Object.assign({ s: site, vid: vid, sid: sid }, ev);
      delete ev.p; // a flat query has no room for props
      new Image().src = base + '/p.gif?' + new URLSearchParams(ev);
    });
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
    ev.url = ev.url || loc.href.slice(0, 4096);
    ev.ts = Date.now();
    for (var k in ev) if (ev[k] == null || ev[k] === '') delete ev[k];
    q.push(ev);
    timer = timer || setTimeout(safe(flush), 0); // one request for what one task records
  }

  function props(p) { // at most 32 string values, as the tracker accepts them
    var o = {}, n = 0, k, v;
    for (k in p) {
      if (n < 32 && (v = p[k]) != null) {
        o[String(k).slice(0, 64)] = (typeof v == 'object' ? JSON.stringify(v) : String(v))
          .slice(0, 1024);
        n++;
      }
    }
    return n ? o : null;
  }

  function leave() { // once per hidden period: d is the page view's visible ms so far
    if (shown) {
      seen += Date.now() - shown;
      shown = 0;
      push({ e: 'event', n: 'page_leave', d: Math.min(seen, 864e5), url: here });
      flush();
    }
  }

  function visit() {
    leave(); // a virtual page view ends the previous one
    var ref = here || d.referrer, ev = {
      e: 'visit', ref: ref.slice(0, 4096), sr: screen.width + 'x' + screen.height,
      lang: nav.language,
    }, query = new URLSearchParams(loc.search);
    ev.url = here = loc.href.slice(0, 4096);
    'source medium campaign term content'.split(' ').forEach((k) => {
      ev['utm_' + k] = (query.get('utm_' + k) || '').slice(0, 256);
    });
    pv = rid(9);
    seen = 0;
    shown = d.visibilityState == 'hidden' ? 0 : Date.now();
    push(ev);
  }

  var commands = {
    visit: visit,
    order: (o) => {
      o = o || {};
      push({
        e: 'order', oid: o.order_id == null ? null : String(o.order_id).slice(0, 128),
        amt: o.amount, cur: o.currency, p: props(o.props),
      });
    },
    event: (n, p) => push({
      e: 'event', n: String(n == null ? '' : n).replace(/[^\w.:/\-\u00aa-\uffff]/g, '_')
        .slice(0, 128), p: props(p),
    }),
  };

  try {
    me = d.currentScript;
    if (!me || !me.getAttribute('data-site')) {
      var all = d.querySelectorAll('script[data-site]');
      for (i = 0; i < all.length; i++) if (/\/t\.js([?#]|$)/.test(all[i].src)) me = all[i];
    }
    site = me && me.getAttribute('data-site');
    if (!site) return;
    base = me.src.replace(/\/t\.js([?#].*)?$/, '');

    cid = new URLSearchParams(loc.search).get('adt_cid');
    // The click id from the tracked link's landing URL, kept so later pages carry it.
    if (cid && /^[\w.-]{1,128}$/.test(cid)) write('_adt_cid', cid, 30 * DAY);
    else cid = read('_adt_cid');
    vid = read('_adt_vid') || rid(12);
    write('_adt_vid', vid, 730 * DAY);

    var api = function (c, a, b) { safe(commands[c])(a, b); };
    api.v = 1;
    w.adtrack = api;
    d.addEventListener('visibilitychange', safe(() => {
      if (d.visibilityState == 'hidden') leave();
      else shown = shown || Date.now();
    }));
    w.addEventListener('pagehide', safe(leave));
    w.addEventListener('pageshow', safe((e) => { // back/forward cache: a new page view
      if (e.persisted) { shown = 0; visit(); }
    }));
    visit();
    for (i = 0; old && old.q && i < old.q.length; i++) api.apply(0, old.q[i]);
  } catch (e) { /* never break the host page */ }
})(window, document);
