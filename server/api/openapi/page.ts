/**
 * GET /api/docs: the API description as one readable page, rendered on the server from the same
 * document as /api/openapi.json. No script (the app's CSP allows scripts from 'self' only, and a
 * reference needs none), no CDN: HTML and one inline stylesheet. Schemas are shown as compact
 * TypeScript-like types, which is how most integrators read a payload.
 */
import type { JsonSchema, OpenApiDocument, Operation, Parameter } from './document.ts';
import type { MqttInterface } from './mqtt.ts';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The bit of Markdown the descriptions use: paragraphs, `code`, **bold**, [links](/path). */
export function markdown(text: string): string {
  return text
    .split(/\n{2,}/)
    .map((para) => {
      let html = esc(para.trim());
      html = html.replace(/`([^`]+)`/g, '<code>$1</code>');
      html = html.replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
      html = html.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_m, label: string, href: string) => (/^(\/|https?:)/.test(href) ? `<a href="${href}">${label}</a>` : label));
      return `<p>${html}</p>`;
    })
    .join('');
}

const REF = '#/components/schemas/';

function refName(schema: JsonSchema): string | null {
  return typeof schema.$ref === 'string' && schema.$ref.startsWith(REF) ? schema.$ref.slice(REF.length) : null;
}

/** Constraints worth a reader's eye, as a short note (`1–80 chars`, `default 100`, `date-time`). */
function notes(s: JsonSchema): string[] {
  const out: string[] = [];
  if (typeof s.format === 'string') out.push(s.format);
  else if (typeof s.pattern === 'string' && s.pattern.length <= 60) out.push(`/${s.pattern}/`);
  const range = (min: unknown, max: unknown, unit: string) => {
    if (typeof min === 'number' && typeof max === 'number') out.push(`${min}–${max}${unit}`);
    else if (typeof min === 'number') out.push(`≥ ${min}${unit}`);
    else if (typeof max === 'number') out.push(`≤ ${max}${unit}`);
  };
  range(s.minLength, s.maxLength, ' chars');
  // zod's int() bounds itself to the safe integers: no news to a reader.
  const bound = (v: unknown) => (typeof v === 'number' && Math.abs(v) < Number.MAX_SAFE_INTEGER ? v : undefined);
  range(bound(s.minimum), bound(s.maximum), '');
  range(s.minItems, s.maxItems, ' items');
  if (s.default !== undefined) out.push(`default ${JSON.stringify(s.default)}`);
  return out;
}

/** A one-line description and notes of a property, for the `// …` after it. */
function comment(s: JsonSchema): string {
  const parts = [...(typeof s.description === 'string' ? [s.description] : []), ...notes(s)];
  return parts.length > 0 ? `<span class="c">  // ${esc(parts.join('; '))}</span>` : '';
}

const PAD = '  ';

/** The schema as a TypeScript-like type, HTML-escaped, `$ref`s linked to the schema section. */
export function typeHtml(s: JsonSchema | undefined, indent = 0): string {
  if (!s || Object.keys(s).filter((k) => k !== 'description' && k !== 'default').length === 0) return 'any';
  const name = refName(s);
  if (name) return `<a href="#schema-${esc(name)}">${esc(name)}</a>`;
  if ('const' in s) return esc(JSON.stringify(s.const));
  if (Array.isArray(s.enum)) {
    const values = s.enum.map((v) => esc(JSON.stringify(v)));
    return values.length > 16 ? `${values.slice(0, 16).join(' | ')} | …` : values.join(' | ');
  }
  const union = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(union)) return union.map((u) => typeHtml(u, indent)).join(' | ');
  if (Array.isArray(s.allOf)) return (s.allOf as JsonSchema[]).map((u) => typeHtml(u, indent)).join(' &amp; ');
  if (Array.isArray(s.type)) return (s.type as string[]).map((t) => typeHtml({ ...s, type: t }, indent)).join(' | ');
  switch (s.type) {
    case 'object':
      return objectHtml(s, indent);
    case 'array': {
      if (Array.isArray(s.prefixItems)) return `[${(s.prefixItems as JsonSchema[]).map((i) => typeHtml(i, indent)).join(', ')}]`;
      const item = typeHtml(s.items as JsonSchema | undefined, indent);
      return /[\s|]/.test(item.replace(/<[^>]+>/g, '')) ? `Array&lt;${item}&gt;` : `${item}[]`;
    }
    case 'integer':
    case 'number':
    case 'string':
    case 'boolean':
    case 'null':
      return s.type;
    default:
      return 'any';
  }
}

function objectHtml(s: JsonSchema, indent: number): string {
  const props = (s.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((s.required as string[] | undefined) ?? []);
  const pad = PAD.repeat(indent + 1);
  const lines = Object.entries(props).map(([key, p]) => `${pad}${esc(/^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key))}${required.has(key) ? '' : '?'}: ${typeHtml(p, indent + 1)}${comment(p)}`);
  const extra = s.additionalProperties;
  if (extra && typeof extra === 'object') {
    const keys = s.propertyNames as JsonSchema | undefined;
    lines.push(`${pad}[key: ${keys?.enum ? typeHtml(keys, indent + 1) : 'string'}]: ${typeHtml(extra as JsonSchema, indent + 1)}`);
  }
  if (lines.length === 0) return extra === false ? '{}' : '{ … }';
  if (extra === false) lines.push(`${pad}<span class="c">// no other fields</span>`);
  return `{\n${lines.join('\n')}\n${PAD.repeat(indent)}}`;
}

const METHOD_ORDER = ['get', 'post', 'put', 'patch', 'delete'];

interface Op {
  method: string;
  path: string;
  op: Operation;
}

function operationsByTag(doc: OpenApiDocument): Map<string, Op[]> {
  const byTag = new Map<string, Op[]>();
  for (const t of (doc.tags as Array<{ name: string }> | undefined) ?? []) byTag.set(t.name, []);
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHOD_ORDER) {
      const op = item[method];
      if (!op) continue;
      const tag = op.tags[0] ?? 'other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push({ method, path, op });
    }
  }
  return byTag;
}

function who(op: Operation): string {
  if (op.security.length === 0) return '<span class="who public">no authentication</span>';
  if (op.security.some((s) => 'integrationToken' in s)) return '<span class="who integration">integration token</span>';
  if (op['x-permission']) return `<span class="who"><code>${esc(op['x-permission'])}</code> — ${esc((op['x-roles'] ?? []).join(', '))}</span>`;
  return '<span class="who">any signed-in user</span>';
}

function parametersHtml(params: Parameter[]): string {
  const rows = params
    .map((p) => {
      const n = notes(p.schema).join('; ');
      const desc = [p.description ?? (typeof p.schema.description === 'string' ? p.schema.description : ''), n].filter(Boolean).join(' — ');
      return `<tr><td><code>${esc(p.name)}</code>${p.required ? '' : '<span class="opt">?</span>'}</td><td>${p.in}</td><td><code>${typeHtml(p.schema)}</code></td><td>${esc(desc)}</td></tr>`;
    })
    .join('');
  return `<table class="params"><thead><tr><th>name</th><th>in</th><th>type</th><th></th></tr></thead><tbody>${rows}</tbody></table>`;
}

function exampleHtml(value: unknown): string {
  return `<pre class="example">${esc(typeof value === 'string' ? value : JSON.stringify(value, null, 2))}</pre>`;
}

function operationHtml({ method, path, op }: Op): string {
  const parts: string[] = [];
  parts.push(`<h3><span class="method ${method}">${method.toUpperCase()}</span> <code class="path">${esc(path)}</code></h3>`);
  parts.push(`<p class="summary">${esc(op.summary)}</p>`);
  parts.push(`<p class="meta">${who(op)}</p>`);
  // The permission line is already shown above; the rest of the description follows.
  const description = (op.description ?? '').replace(/^\*\*Permission:\*\*[^\n]*(\n\n)?/, '');
  if (description) parts.push(`<div class="desc">${markdown(description)}</div>`);
  if (op.parameters?.length) parts.push(`<h4>Parameters</h4>${parametersHtml(op.parameters)}`);
  if (op.requestBody) {
    const [type, media] = Object.entries(op.requestBody.content)[0] ?? [];
    if (media && type === 'application/json') {
      parts.push(`<h4>Body${op.requestBody.required ? '' : ' <span class="opt">(optional)</span>'}</h4><pre class="schema">${typeHtml(media.schema)}</pre>`);
      if (media.example !== undefined) parts.push(`<h4>Example</h4>${exampleHtml(media.example)}`);
    } else {
      parts.push(`<h4>Body</h4><p>${esc(String(media?.schema.description ?? 'raw bytes'))}: ${Object.keys(op.requestBody.content).map((t) => `<code>${esc(t)}</code>`).join(', ')}</p>`);
      for (const [type2, m] of Object.entries(op.requestBody.content)) {
        for (const e of Object.values(m.examples ?? {})) parts.push(`<details><summary>${esc(e.summary)} <code>${esc(type2)}</code></summary>${exampleHtml(e.value)}</details>`);
      }
    }
  }
  const responses = Object.entries(op.responses)
    .map(([status, r]) => {
      const media = Object.entries(r.content ?? {})[0];
      const isError = refName(media?.[1].schema ?? {}) === 'Error';
      const body = media && !isError ? (media[1].schema ? `<pre class="schema">${typeHtml(media[1].schema)}</pre>` : `<code>${esc(media[0])}</code>`) : '';
      const example = media && !isError && media[1].example !== undefined ? exampleHtml(media[1].example) : '';
      return `<li class="${status.startsWith('2') ? 'ok' : 'err'}"><span class="status">${esc(status)}</span> ${markdown(r.description).replace(/^<p>|<\/p>$/g, '')}${body}${example}</li>`;
    })
    .join('');
  parts.push(`<h4>Answers</h4><ul class="responses">${responses}</ul>`);
  return `<article class="op" id="op-${esc(op.operationId)}">${parts.join('')}</article>`;
}

function mqttHtml(mqtt: MqttInterface): string {
  const topics = mqtt.topics
    .map((t) => `<tr><td><code>${esc(t.topic)}</code></td><td>${esc(t.direction)}</td><td>${markdown(t.payload).replace(/^<p>|<\/p>$/g, '')}${t.schema ? `<pre class="schema">${typeHtml(t.schema)}</pre>` : ''}${t.example ? `<pre class="example">${esc(t.example)}</pre>` : ''}<div class="who-line">who: ${markdown(t.who).replace(/^<p>|<\/p>$/g, '')}</div></td></tr>`)
    .join('');
  const types = mqtt.deviceTypes
    .map(
      (t) => `<article class="op" id="device-${esc(t.id)}"><h3><code>${esc(t.id)}</code> — ${esc(t.label.en)} / ${esc(t.label['zh-CN'])}</h3>
<p class="meta">formats: ${t.formats.map((f) => `<code>${esc(f)}</code>`).join(', ')} · can: ${t.capabilities.map((c) => `<code>${esc(c)}</code>`).join(', ')}</p>
<h4>One event</h4><pre class="schema">${typeHtml(t.schema)}</pre>
${t.examples.length > 0 ? `<h4>Examples</h4><pre class="example">${t.examples.map((e) => `${esc(e.format.padEnd(7))}${esc(e.payload)}`).join('\n')}</pre>` : ''}</article>`,
    )
    .join('');
  return `<section id="mqtt"><h2>MQTT</h2>${markdown(mqtt.description)}
<p>${mqtt.endpoints.map((e) => `<code>${esc(e.url)}</code> ${esc(e.description)}`).join(' · ')}</p>
<div class="scroll"><table class="topics"><thead><tr><th>topic</th><th>direction</th><th>payload</th></tr></thead><tbody>${topics}</tbody></table></div>
<h3 class="sub">Device types</h3>${types}</section>`;
}

const STYLE = `
:root { color-scheme: dark; --bg: #0e131a; --panel: #17202b; --line: #2a3644; --text: #dde3ea; --muted: #8b98a7; --accent: #26a69a; --get: #42a5f5; --post: #26a69a; --put: #fb8c00; --patch: #ab47bc; --delete: #e53935; font-family: system-ui, 'PingFang SC', 'Microsoft YaHei', sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font-size: 14px; line-height: 1.45; }
a { color: #80cbc4; }
code, pre { font-family: ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace; font-size: 12.5px; }
header.top { position: sticky; top: 0; z-index: 2; display: flex; flex-wrap: wrap; gap: 6px 16px; align-items: baseline; padding: 10px 16px; background: var(--panel); border-bottom: 1px solid var(--line); }
header.top strong { font-size: 16px; }
header.top .version { color: var(--muted); }
header.top nav { margin-left: auto; display: flex; gap: 12px; }
.layout { display: grid; grid-template-columns: 260px minmax(0, 1fr); }
nav.toc { position: sticky; top: 45px; align-self: start; max-height: calc(100vh - 45px); overflow: auto; padding: 12px 8px 24px 16px; border-right: 1px solid var(--line); font-size: 13px; }
nav.toc ul { list-style: none; margin: 0; padding: 0; }
nav.toc > ul > li { margin: 8px 0 2px; }
nav.toc > ul > li > a { color: var(--text); font-weight: 600; text-decoration: none; }
nav.toc li li a { display: block; color: var(--muted); text-decoration: none; padding: 1px 0 1px 8px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
nav.toc li li a:hover { color: var(--text); }
nav.toc .m { display: inline-block; width: 52px; font-size: 10px; font-weight: 700; }
main { padding: 8px 24px 48px; max-width: 1100px; }
h2 { margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); font-size: 20px; }
h3.sub { margin-top: 24px; }
article.op, section, h3.sub { scroll-margin-top: 56px; }
article.op { margin: 14px 0; padding: 10px 14px; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; }
article.op h3 { margin: 0 0 4px; font-size: 15px; display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
article.op h4 { margin: 12px 0 4px; font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; color: var(--muted); }
.method { display: inline-block; min-width: 58px; text-align: center; border-radius: 4px; padding: 1px 6px; font-size: 12px; font-weight: 700; color: #fff; }
.method.get { background: var(--get); } .method.post { background: var(--post); } .method.put { background: var(--put); } .method.patch { background: var(--patch); } .method.delete { background: var(--delete); }
.m.get { color: var(--get); } .m.post { color: var(--post); } .m.put { color: var(--put); } .m.patch { color: var(--patch); } .m.delete { color: var(--delete); }
code.path { font-size: 14px; word-break: break-all; }
/* A long token in prose (a signed URL, a header value) wraps rather than widening a phone's page. */
p code, li code, td code { overflow-wrap: anywhere; }
.summary { margin: 2px 0; font-weight: 600; }
.meta { margin: 2px 0; color: var(--muted); font-size: 13px; }
.who.public, .who.integration { color: #ffb300; }
.desc p { margin: 6px 0; }
pre { margin: 4px 0; padding: 8px 10px; background: var(--bg); border: 1px solid var(--line); border-radius: 4px; overflow-x: auto; white-space: pre; }
pre .c { color: var(--muted); }
pre a { color: #80cbc4; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid var(--line); }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
table.params td:nth-child(3) { white-space: nowrap; }
.opt { color: var(--muted); }
ul.responses { list-style: none; margin: 0; padding: 0; }
ul.responses li { padding: 3px 0; border-bottom: 1px solid var(--line); }
ul.responses li:last-child { border-bottom: 0; }
.status { display: inline-block; min-width: 56px; font-weight: 700; }
li.ok .status { color: #66bb6a; } li.err .status { color: #ff8a65; }
.who-line { color: var(--muted); font-size: 12px; }
.scroll { overflow-x: auto; }
details { margin: 4px 0; } summary { cursor: pointer; color: var(--muted); }
table.errors td:first-child { white-space: nowrap; }
@media (max-width: 800px) {
  .layout { display: block; }
  nav.toc { position: static; max-height: none; border-right: 0; border-bottom: 1px solid var(--line); padding: 8px 12px; }
  nav.toc li li { display: none; }
  nav.toc > ul { display: flex; flex-wrap: wrap; gap: 4px 12px; }
  nav.toc > ul > li { margin: 0; }
  main { padding: 4px 12px 32px; }
  article.op { padding: 8px 10px; }
  header.top nav { margin-left: 0; }
  table.params td:nth-child(3) { white-space: normal; }
  table.params td, table.params th { padding: 4px; }
  article.op, section, h3.sub { scroll-margin-top: 80px; }
  /* Topics stacked: topic, direction, payload one under the other. */
  table.topics thead { display: none; }
  table.topics, table.topics tbody, table.topics tr, table.topics td { display: block; }
  table.topics tr { border-bottom: 1px solid var(--line); padding: 6px 0; }
  table.topics td { border: 0; padding: 2px 0; }
  table.topics td:first-child code { font-weight: 700; word-break: break-all; }
  table.topics td:nth-child(2) { color: var(--muted); font-size: 13px; }
}
`;

/** The whole page. */
export function renderDocsPage(doc: OpenApiDocument): string {
  const info = doc.info as { title: string; version: string; description: string };
  const byTag = operationsByTag(doc);
  const mqtt = doc['x-mqtt'] as MqttInterface;
  const errors = doc['x-error-codes'] as Array<{ code: string; status: number; message: string }>;
  const schemes = (doc.components.securitySchemes ?? {}) as Record<string, { description?: string; type: string; in?: string; name?: string; scheme?: string }>;

  const toc = [...byTag]
    .map(
      ([tag, ops]) =>
        `<li><a href="#tag-${esc(tag)}">${esc(tag)}</a><ul>${ops.map(({ method, path, op }) => `<li><a href="#op-${esc(op.operationId)}"><span class="m ${method}">${method.toUpperCase()}</span>${esc(path.replace(/^\/api/, ''))}</a></li>`).join('')}</ul></li>`,
    )
    .join('');
  const sections = [...byTag].map(([tag, ops]) => `<section id="tag-${esc(tag)}"><h2>${esc(tag)}</h2>${ops.map(operationHtml).join('')}</section>`).join('');
  const auth = Object.entries(schemes)
    .map(([name, s]) => `<tr><td><code>${esc(name)}</code></td><td>${esc(s.type === 'http' ? `HTTP ${s.scheme ?? ''}` : `${s.in ?? ''} ${s.name ?? ''}`)}</td><td>${markdown(s.description ?? '').replace(/^<p>|<\/p>$/g, '')}</td></tr>`)
    .join('');
  const schemas = Object.entries(doc.components.schemas)
    .map(([name, s]) => `<article class="op" id="schema-${esc(name)}"><h3><code>${esc(name)}</code></h3>${typeof s.description === 'string' ? `<p class="meta">${esc(s.description)}</p>` : ''}<pre class="schema">${typeHtml({ ...s, description: undefined })}</pre></article>`)
    .join('');
  const errorRows = errors.map((e) => `<tr><td><code>${esc(e.code)}</code></td><td>${e.status}</td><td>${esc(e.message)}</td></tr>`).join('');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(info.title)} ${esc(info.version)}</title>
<style>${STYLE}</style>
</head>
<body>
<header class="top"><strong>${esc(info.title)}</strong><span class="version">${esc(info.version)} · OpenAPI ${esc(doc.openapi)}</span><nav><a href="/api/openapi.json">openapi.json</a><a href="/">Dashboard</a></nav></header>
<div class="layout">
<nav class="toc" aria-label="contents"><ul><li><a href="#overview">Overview</a></li>${toc}<li><a href="#mqtt">MQTT</a></li><li><a href="#schemas">Schemas</a></li><li><a href="#errors">Error codes</a></li></ul></nav>
<main>
<section id="overview"><h2>Overview</h2>${markdown(info.description)}
<h3 class="sub">Authentication</h3><div class="scroll"><table><tbody>${auth}</tbody></table></div></section>
${sections}
${mqttHtml(mqtt)}
<section id="schemas"><h2>Schemas</h2>${schemas}</section>
<section id="errors"><h2>Error codes</h2><div class="scroll"><table class="errors"><thead><tr><th>code</th><th>status</th><th>meaning</th></tr></thead><tbody>${errorRows}</tbody></table></div></section>
</main>
</div>
</body>
</html>
`;
}
