// Renders the Gatehouse API reference from /openapi.json: no network beyond this server.
(function () {
  'use strict';
  const base = location.origin;

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') node.className = v; else node.setAttribute(k, v);
    }
    for (const c of [].concat(children || [])) {
      if (c == null) continue;
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return node;
  }

  function exampleOf(schema) {
    const out = {};
    for (const [name, p] of Object.entries((schema && schema.properties) || {})) {
      if (p.format === 'email') out[name] = 'ada@example.com';
      else if (/password/i.test(name)) out[name] = 'Analytical1';
      else if (p.minLength && p.minLength === p.maxLength) out[name] = '1'.repeat(p.minLength).replace(/1/g, (_, i) => String((i + 1) % 10));
      else out[name] = 'string';
    }
    return out;
  }

  // A public operation has `security: []`; an authenticated one lists its token schemes.
  function needsToken(op) {
    return Array.isArray(op.security) && op.security.length > 0;
  }

  function curl(method, path, op) {
    const lines = ['curl -X ' + method.toUpperCase() + " '" + base + path + "'"];
    if (needsToken(op)) lines.push("  -H 'Authorization: Bearer $TOKEN'");
    const body = op.requestBody && op.requestBody.content['application/json'].schema;
    if (body) {
      lines.push("  -H 'Content-Type: application/json'");
      lines.push("  -d '" + JSON.stringify(exampleOf(body)) + "'");
    }
    return lines.join(' \\\n');
  }

  function render(doc) {
    document.getElementById('title').textContent = doc.info.title + ' API reference (' + doc.info.version + ')';
    document.getElementById('intro').textContent = doc.info.description;
    const nav = document.getElementById('nav');
    const main = document.getElementById('main');
    const groups = new Map((doc.tags || []).map((t) => [t.name, []]));
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const g = (op.tags && op.tags[0]) || 'Other';
        if (!groups.has(g)) groups.set(g, []);
        groups.get(g).push({ path, method, op });
      }
    }
    for (const [name, list] of groups) {
      if (!list.length) continue;
      list.sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
      nav.appendChild(el('h2', {}, name));
      const section = el('section', { class: 'group' }, [el('h2', {}, name)]);
      for (const { path, method, op } of list) {
        const id = op.operationId;
        nav.appendChild(el('a', { href: '#' + id }, method.toUpperCase() + ' ' + path));
        const art = el('article', { id, 'data-endpoint': method.toUpperCase() + ' ' + path }, [
          el('h3', {}, [el('span', { class: 'method ' + method.toUpperCase() }, method.toUpperCase()), path]),
          el('div', {}, op.summary || ''),
          el('div', { class: 'auth' }, needsToken(op) ? op.description || '' : 'No token needed.'),
        ]);
        if (op.parameters && op.parameters.length) {
          art.appendChild(el('h4', {}, 'Query'));
          art.appendChild(el('table', {}, [el('tr', {}, [el('th', {}, 'name'), el('th', {}, 'rules'), el('th', {}, 'meaning')])]
            .concat(op.parameters.map((p) => el('tr', {}, [el('td', {}, el('code', {}, p.name)), el('td', {}, rules(p.schema)), el('td', {}, p.description || '')])))));
        }
        const body = op.requestBody && op.requestBody.content['application/json'].schema;
        if (body) {
          art.appendChild(el('h4', {}, 'Body'));
          const req = body.required || [];
          art.appendChild(el('table', {}, [el('tr', {}, [el('th', {}, 'field'), el('th', {}, 'rules'), el('th', {}, 'meaning')])]
            .concat(Object.entries(body.properties || {}).map(([n, p]) =>
              el('tr', {}, [el('td', {}, [el('code', {}, n), req.includes(n) ? ' *' : '']), el('td', {}, rules(p)), el('td', {}, p.description || '')])))));
        }
        art.appendChild(el('h4', {}, 'Responses'));
        const rows = [el('tr', {}, [el('th', {}, 'status'), el('th', {}, 'meaning'), el('th', {}, 'message codes / example')])];
        for (const [status, r] of Object.entries(op.responses).sort()) {
          const codes = r['x-message-codes'];
          let cell;
          if (codes && codes.length) cell = el('span', { class: 'codes' }, codes.map((c) => el('code', {}, c)));
          else {
            const [type, media] = Object.entries(r.content || {})[0] || [];
            if (media && 'example' in media) cell = el('code', {}, JSON.stringify(media.example));
            else if (media) cell = el('code', {}, type + (media.schema && media.schema.description ? ': ' + media.schema.description : ''));
            else cell = '';
          }
          rows.push(el('tr', {}, [el('td', {}, status), el('td', {}, r.description || ''), el('td', {}, cell)]));
        }
        art.appendChild(el('table', {}, rows));
        art.appendChild(el('h4', {}, 'Example'));
        art.appendChild(el('pre', {}, curl(method, path, op)));
        section.appendChild(art);
      }
      main.appendChild(section);
    }
  }

  function rules(s) {
    if (!s) return '';
    const r = [s.type];
    if (s.minLength != null && s.minLength === s.maxLength) r.push('exactly ' + s.minLength);
    else {
      if (s.minLength != null) r.push('≥ ' + s.minLength);
      if (s.maxLength != null) r.push('≤ ' + s.maxLength);
    }
    if (s.format) r.push('format ' + s.format);
    if (s.pattern) r.push('pattern ' + s.pattern);
    return r.join(', ');
  }

  fetch('openapi.json').then((r) => {
    if (!r.ok) throw new Error('GET /openapi.json answered ' + r.status);
    return r.json();
  }).then(render).catch((err) => {
    document.getElementById('main').appendChild(el('p', { id: 'error' }, 'Cannot load the API document: ' + err.message));
  });
})();
