// endorse: checks a reference in the recruiter's own browser (spec §11), independently of
// the registry's verdict, which it asks for as well and shows beside its own.
//
// No framework, no build step, no external resources. Every text from a token or a server
// answer is written with textContent, never as markup.
//
// What the browser checks itself (spec section in brackets): the token's compact form and
// canonical JSON payload (§3.1, §2.2), the endorsement schema (§4.2), the issuer's did:key
// (§2.4, including the point checks WebCrypto does not make), the Ed25519 signature over
// "endorse/v1/endorsement\0" || payload (§3.2) with WebCrypto, the registry's signatures on
// the key binding, key revocation, status list, registration and receipt it fetches (§6.1),
// the status bit (§5), and the rest of the algorithm of §6.3 against the registry's time
// (read from the Date header of its key's answer, so a recruiter whose clock is off is told
// so rather than shown a failure; spec §11.3). The statements come in the answer of a POST
// with the token in the body: no request line names the endorser's key or the token (§11.2).
// The registry key is the one this origin publishes at /.well-known/endorse-registry: the
// page itself comes from that origin, so the browser's check is independent of the
// registry's computation, not of the registry's honesty (spec §11.3 item 4).

import { hasUnassigned, textProblem } from "./endorse-text.js";

const TOKEN_LIMIT = { "endorsement": 8192, "status-list": 262144 };
const OTHER_LIMIT = 8192;
const TYPES = new Set(["endorsement", "revocation", "key-rotation", "key-revocation",
  "presentation", "key-binding", "status-list", "registration", "receipt",
  "refusal", "policy", "reference-request"]);
const MAX_INPUT = 8192 + 512;
const CLOCK_SKEW = 300;
const VERDICTS = new Set(["valid", "revoked", "expired", "not_yet_valid", "bad_signature",
  "malformed", "unknown_issuer", "issuer_key_revoked", "subject_mismatch",
  "purpose_not_allowed", "audience_mismatch", "status_unavailable", "refused"]);
const SENTENCES = {
  valid: "This reference is genuine: the endorser signed it, it is in force, and it has not been withdrawn.",
  revoked: "The endorser has withdrawn this reference; it must not be relied on.",
  expired: "This reference has expired; ask the candidate for a current one.",
  not_yet_valid: "This reference is not in force yet; check again from its start date.",
  bad_signature: "This reference was not signed by the endorser it names, or it was altered after signing; do not rely on it.",
  malformed: "This is not a readable endorse reference; it may be damaged, incomplete or forged.",
  unknown_issuer: "The signature is intact, but the endorser's key is not linked to a verified identity, so who gave this reference cannot be confirmed.",
  issuer_key_revoked: "The endorser's key was revoked, and this reference cannot be shown to have been registered before that, so it cannot be trusted.",
  subject_mismatch: "This reference is about someone other than the person presenting it.",
  purpose_not_allowed: "The endorser did not agree to this reference being used for this purpose.",
  audience_mismatch: "This reference was given for a different recipient.",
  status_unavailable: "Whether the endorser has withdrawn this reference could not be checked; try again later or ask the endorser.",
  refused: "The referee states that they do not give a reference for this person.",
};
// A refusal checked for another subject or purpose (spec §6.4, verdicts.REFUSAL_SENTENCES):
// the endorsement's sentences would speak of a consent a refusal never gave.
const REFUSAL_SENTENCES = {
  subject_mismatch: "This refusal is about someone other than the person asked about; it says nothing about them.",
  purpose_not_allowed: "This refusal is for another purpose than the one asked about; it says nothing about this use.",
};

class Malformed extends Error {}
class BadSignature extends Error {}
class Unsupported extends Error {}

// --- encodings (§2.1) ----------------------------------------------------------------------

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

function b64urlDecode(text, where) {
  if (text.length % 4 === 1) throw new Malformed(`${where}: not base64url`);
  const out = new Uint8Array(Math.floor(text.length * 3 / 4));
  let bits = 0, acc = 0, j = 0;
  for (const c of text) {
    const v = B64_INDEX.get(c);
    if (v === undefined) throw new Malformed(`${where}: not base64url`);
    acc = (acc << 6) | v; bits += 6;
    if (bits >= 8) { bits -= 8; out[j++] = (acc >> bits) & 0xff; }
  }
  if (bits > 0 && (acc & ((1 << bits) - 1)) !== 0) throw new Malformed(`${where}: not canonical base64url`);
  return out;
}

function b64urlEncode(bytes) {
  let out = "", acc = 0, bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b; bits += 8;
    while (bits >= 6) { bits -= 6; out += B64[(acc >> bits) & 63]; }
    acc &= 0xff;
  }
  if (bits > 0) out += B64[(acc << (6 - bits)) & 63];
  return out;
}

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

function b58Decode(text) {
  let n = 0n;
  for (const c of text) {
    const v = B58.indexOf(c);
    if (v < 0) throw new Malformed("did:key: not base58btc");
    n = n * 58n + BigInt(v);
  }
  const bytes = [];
  while (n > 0n) { bytes.unshift(Number(n & 0xffn)); n >>= 8n; }
  for (const c of text) { if (c !== "1") break; bytes.unshift(0); }
  return new Uint8Array(bytes);
}

function b58Encode(bytes) {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = "";
  while (n > 0n) { out = B58[Number(n % 58n)] + out; n /= 58n; }
  for (const b of bytes) { if (b !== 0) break; out = "1" + out; }
  return out;
}

// --- canonical JSON (§2.2) -----------------------------------------------------------------

function canonical(value) {
  if (value === null) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new Malformed("payload: only integers within 2^53-1");
    return Object.is(value, -0) ? "0" : String(value);
  }
  if (typeof value === "string") return canonicalString(value);
  if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
  const names = Object.keys(value).sort();
  return "{" + names.map((k) => canonicalString(k) + ":" + canonical(value[k])).join(",") + "}";
}

const ESCAPES = { '"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r" };

function canonicalString(s) {
  let out = '"';
  for (const c of s) {
    const code = c.codePointAt(0);
    if (ESCAPES[c] !== undefined) out += ESCAPES[c];
    else if (code < 0x20) out += "\\u" + code.toString(16).padStart(4, "0");
    else out += c;
  }
  return out + '"';
}

function depth(value) {
  if (value === null || typeof value !== "object") return 0;
  const inner = Array.isArray(value) ? value : Object.values(value);
  return 1 + inner.reduce((m, v) => Math.max(m, depth(v)), 0);
}

// --- compact tokens (§3.1, §3.2) -----------------------------------------------------------

const utf8 = new TextEncoder();

function parseToken(token, expected) {
  if (typeof token !== "string" || token.length > TOKEN_LIMIT["status-list"]) throw new Malformed("token: too long");
  const parts = token.split(".");
  if (parts.length !== 3) throw new Malformed("token: not three parts");
  const [prefix, payload64, sig64] = parts;
  const m = /^([a-z-]+)-v1$/.exec(prefix);
  if (!m || !TYPES.has(m[1])) throw new Malformed("token: unknown type or version");
  const type = m[1];
  if (type !== expected) throw new Malformed(`token: a ${type} token, not ${expected}`);
  const limit = TOKEN_LIMIT[type] ?? OTHER_LIMIT;
  if (token.length > limit) throw new Malformed("token: too long");
  if (sig64.length !== 86) throw new Malformed("token: signature part is not 86 characters");
  const payload = b64urlDecode(payload64, "payload");
  const signature = b64urlDecode(sig64, "signature");
  if (payload.length > limit) throw new Malformed("payload: too long");
  let text, value;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(payload);
    value = JSON.parse(text);
  } catch (e) {
    throw new Malformed("payload: not UTF-8 JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Malformed("payload: not an object");
  if (depth(value) > 4) throw new Malformed("payload: nested too deeply");
  const again = utf8.encode(canonical(value));
  if (again.length !== payload.length || again.some((b, i) => b !== payload[i])) {
    throw new Malformed("payload: not canonical JSON");
  }
  if (value.type !== type || value.v !== 1) throw new Malformed("payload: type or version differs from the prefix");
  const context = utf8.encode(`endorse/v1/${type}\0`);
  const message = new Uint8Array(context.length + payload.length);
  message.set(context); message.set(payload, context.length);
  return { type, value, message, signature };
}

// --- schemas (§2.3, §4) --------------------------------------------------------------------

const RE = {
  id: /^[A-Za-z0-9_-]{21}[AQgw]$/,
  th: /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/,
  listId: /^[A-Za-z0-9_-]{1,64}$/,
  period: /^[0-9]{4}(?:-(?:0[1-9]|1[0-2]))?$/,
  ascii: /^[\x21-\x7e]+$/,
  email: /^(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/,
  registry: new RegExp("^(?:https://[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*" +
    "(?::(?!443(?![0-9]))(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?" +
    "|http://(?:127\\.0\\.0\\.1|localhost|\\[::1\\])(?::(?!80(?![0-9]))(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?)" +
    "(?:/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*$"),
  purpose: /^x-[a-z0-9]+(?:-[a-z0-9]+)*$/,
};
const PURPOSES = new Set(["academic-reference", "character-reference", "employment-reference",
  "tenancy-reference", "volunteer-reference"]);
const MAX_TIME = 2 ** 53 - 1;

function members(obj, where, required, optional = []) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) throw new Malformed(`${where}: not an object`);
  const known = new Set([...required, ...optional]);
  for (const k of Object.keys(obj)) if (!known.has(k)) throw new Malformed(`${where}.${k}: unknown member`);
  for (const k of required) if (!(k in obj)) throw new Malformed(`${where}.${k}: missing`);
}

function text(v, where, max, multiline = false) {
  if (typeof v !== "string") throw new Malformed(`${where}: must be text`);
  const n = [...v].length;
  if (n < 1 || n > max) throw new Malformed(`${where}: 1 to ${max} characters`);
  // Unicode 14.0.0's tables, as the Python protocol uses them (endorse-text.js; spec §2.3).
  const problem = textProblem(v, multiline);
  if (problem !== null) throw new Malformed(`${where}: ${TEXT_PROBLEMS[problem]}`);
}

const TEXT_PROBLEMS = {
  control: "control or invisible formatting characters",
  whitespace: "leading or trailing whitespace",
  invisible: "invisible characters",
  nfc: "not NFC",
};

function pattern(v, where, re, max) {
  if (typeof v !== "string" || (max !== undefined && v.length > max) || !re.test(v)) throw new Malformed(`${where}: bad format`);
}

function time(v, where) {
  if (!Number.isSafeInteger(v) || v < 0 || v > MAX_TIME) throw new Malformed(`${where}: not a time`);
}

function asciiText(v, where, max) {
  if (typeof v !== "string" || v.length < 1 || v.length > max || !RE.ascii.test(v)) throw new Malformed(`${where}: bad format`);
}

function months(period, end) {
  const [y, m] = period.split("-");
  return Number(y) * 12 + (m ? Number(m) : (end ? 12 : 1));
}

function checkEndorsement(e) {
  members(e, "endorsement", ["type", "v", "id", "iss", "iss_name", "sub", "rel", "purposes", "iat", "nbf", "exp", "contact"], ["aud", "stmt", "status"]);
  pattern(e.id, "endorsement.id", RE.id);
  didKeyBytes(e.iss, "endorsement.iss");
  text(e.iss_name, "endorsement.iss_name", 128);
  members(e.sub, "endorsement.sub", ["name"], ["email", "handle", "key"]);
  text(e.sub.name, "endorsement.sub.name", 128);
  if (e.sub.email === undefined && e.sub.handle === undefined) throw new Malformed("endorsement.sub: needs an email or a handle");
  if (e.sub.email !== undefined) pattern(e.sub.email, "endorsement.sub.email", RE.email, 254);
  if (e.sub.handle !== undefined) asciiText(e.sub.handle, "endorsement.sub.handle", 128);
  if (e.sub.key !== undefined) didKeyBytes(e.sub.key, "endorsement.sub.key");
  members(e.rel, "endorsement.rel", ["context", "role"], ["org", "from", "to"]);
  text(e.rel.context, "endorsement.rel.context", 64);
  text(e.rel.role, "endorsement.rel.role", 64);
  if (e.rel.org !== undefined) text(e.rel.org, "endorsement.rel.org", 128);
  if (e.rel.from !== undefined) pattern(e.rel.from, "endorsement.rel.from", RE.period);
  if (e.rel.to !== undefined) pattern(e.rel.to, "endorsement.rel.to", RE.period);
  if (e.rel.from !== undefined && e.rel.to !== undefined && months(e.rel.to, true) < months(e.rel.from, false)) {
    throw new Malformed("endorsement.rel: the period ends before it starts");
  }
  if (!Array.isArray(e.purposes) || e.purposes.length < 1 || e.purposes.length > 8) throw new Malformed("endorsement.purposes: 1 to 8");
  e.purposes.forEach((p, i) => {
    if (typeof p !== "string" || !(PURPOSES.has(p) || (p.length <= 42 && RE.purpose.test(p)))) throw new Malformed("endorsement.purposes: unknown purpose");
    if (i > 0 && !(e.purposes[i - 1] < p)) throw new Malformed("endorsement.purposes: not sorted or repeated");
  });
  time(e.iat, "endorsement.iat"); time(e.nbf, "endorsement.nbf"); time(e.exp, "endorsement.exp");
  if (e.nbf < e.iat) throw new Malformed("endorsement.nbf: before iat");
  if (!(e.exp - e.nbf > 0 && e.exp - e.nbf <= 157852800)) throw new Malformed("endorsement.exp: validity window out of range");
  if (typeof e.contact !== "boolean") throw new Malformed("endorsement.contact: must be a boolean");
  if (e.aud !== undefined) asciiText(e.aud, "endorsement.aud", 256);
  if (e.stmt !== undefined) {
    text(e.stmt, "endorsement.stmt", 1000, true);
    if (e.stmt.startsWith("\n") || e.stmt.endsWith("\n")) throw new Malformed("endorsement.stmt: leading or trailing line feed");
  }
  if (e.status !== undefined) {
    members(e.status, "endorsement.status", ["reg", "list", "idx"]);
    pattern(e.status.reg, "endorsement.status.reg", RE.registry, 200);
    pattern(e.status.list, "endorsement.status.list", RE.listId);
    if (!Number.isSafeInteger(e.status.idx) || e.status.idx < 0 || e.status.idx > 16777215) throw new Malformed("endorsement.status.idx: out of range");
  }
}

function checkRegistryObject(o, type, R) {
  const shapes = {
    "key-binding": [["type", "v", "reg", "key", "email", "name", "since", "method", "iat"], []],
    "status-list": [["type", "v", "reg", "list", "iat", "ttl", "size", "bits"], []],
    "registration": [["type", "v", "reg", "th", "iss", "at"], []],
    "receipt": [["type", "v", "reg", "th", "verdict", "at"], []],
  };
  const [required, optional] = shapes[type];
  members(o, type, required, optional);
  if (o.reg !== R) throw new Malformed(`${type}: signed for another registry`);
  for (const k of ["since", "iat", "at"]) if (k in o) time(o[k], `${type}.${k}`);
  if (type === "key-binding") {
    didKeyBytes(o.key, "key-binding.key");
    pattern(o.email, "key-binding.email", RE.email, 254);
    text(o.name, "key-binding.name", 128);
    if (o.method !== "email-code") throw new Malformed("key-binding.method");
  } else if (type === "status-list") {
    pattern(o.list, "status-list.list", RE.listId);
    if (!Number.isSafeInteger(o.ttl) || o.ttl < 1 || o.ttl > 604800) throw new Malformed("status-list.ttl");
    if (!Number.isSafeInteger(o.size) || o.size < 131072 || o.size > 16777216 || o.size % 8 !== 0) throw new Malformed("status-list.size");
    if (typeof o.bits !== "string") throw new Malformed("status-list.bits");
  } else if (type === "registration") {
    pattern(o.th, "registration.th", RE.th); didKeyBytes(o.iss, "registration.iss");
  } else {
    pattern(o.th, "receipt.th", RE.th);
    if (!VERDICTS.has(o.verdict)) throw new Malformed("receipt.verdict");
  }
}

// --- keys and signatures (§2.4) ------------------------------------------------------------

const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const D = (((-121665n * inv(121666n)) % P) + P) % P;
const SQRT_M1 = pow(2n, (P - 1n) / 4n);

function mod(a) { const r = a % P; return r < 0n ? r + P : r; }
function pow(b, e) { let r = 1n; b = mod(b); while (e > 0n) { if (e & 1n) r = r * b % P; b = b * b % P; e >>= 1n; } return r; }
function inv(a) { return pow(a, P - 2n); }

function leInt(bytes) { let n = 0n; for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]); return n; }

// Extended coordinates (X, Y, Z, T), a = -1 (RFC 8032 §5.1.4).
function add(p, q) {
  const a = mod((p[1] - p[0]) * (q[1] - q[0])), b = mod((p[1] + p[0]) * (q[1] + q[0]));
  const c = mod(2n * D * p[3] * q[3]), d = mod(2n * p[2] * q[2]);
  const e = b - a, f = d - c, g = d + c, h = b + a;
  return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
}
function isIdentity(p) { return mod(p[0]) === 0n && mod(p[1] - p[2]) === 0n; }
function mul(k, p) { let r = [0n, 1n, 1n, 0n]; for (; k > 0n; k >>= 1n) { if (k & 1n) r = add(r, p); p = add(p, p); } return r; }

// A public key must be canonical, on the curve, and of order exactly L (§2.4 rules 1-4).
function checkPoint(bytes, where) {
  const top = bytes[31] >> 7;
  const copy = bytes.slice(); copy[31] &= 0x7f;
  const y = leInt(copy);
  if (y >= P) throw new Malformed(`${where}: non-canonical key`);
  const u = mod(y * y - 1n), v = mod(D * y * y + 1n);
  let x = mod(u * pow(v, 3n) * pow(u * pow(v, 7n), (P - 5n) / 8n));
  if (mod(v * x * x) !== u) {
    if (mod(v * x * x) !== mod(-u)) throw new Malformed(`${where}: not a curve point`);
    x = mod(x * SQRT_M1);
  }
  if (x === 0n && top === 1) throw new Malformed(`${where}: non-canonical key`);
  if ((x & 1n) !== BigInt(top)) x = P - x;
  const point = [x, y, 1n, mod(x * y)];
  if (isIdentity(mul(8n, point)) || !isIdentity(mul(L, point))) throw new Malformed(`${where}: small or mixed order key`);
}

const keyCache = new Map();

function didKeyBytes(did, where) {
  if (keyCache.has(did)) return keyCache.get(did);
  if (typeof did !== "string" || did.length !== 56 || !did.startsWith("did:key:z")) throw new Malformed(`${where}: not an Ed25519 did:key`);
  const raw = b58Decode(did.slice(9));
  if (raw.length !== 34 || raw[0] !== 0xed || raw[1] !== 0x01) throw new Malformed(`${where}: not an Ed25519 did:key`);
  if ("did:key:z" + b58Encode(raw) !== did) throw new Malformed(`${where}: not canonical`);
  const key = raw.slice(2);
  checkPoint(key, where);
  keyCache.set(did, key);
  return key;
}

async function ed25519Supported() {
  if (!window.isSecureContext || !window.crypto || !crypto.subtle) return false;
  try {
    // The RFC 8032 §7.1 test 1 key: importing it shows whether Ed25519 is implemented.
    const pub = b64urlDecode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "key");
    await crypto.subtle.importKey("raw", pub, { name: "Ed25519" }, false, ["verify"]);
    return true;
  } catch (e) {
    return false;
  }
}

async function verifySignature(parsed, publicKey) {
  // S < L (no malleated signatures, §2.4 rule 1); WebCrypto then checks the cofactorless
  // equation, with R compared as bytes.
  if (leInt(parsed.signature.slice(32)) >= L) throw new BadSignature("S is not below the group order");
  let key;
  try {
    key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  } catch (e) {
    throw new Unsupported("Ed25519 is not available");
  }
  const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, parsed.signature, parsed.message);
  if (!ok) throw new BadSignature("signature does not verify");
}

async function verifyRegistryToken(token, type, R, registryKey) {
  const parsed = parseToken(token, type);
  checkRegistryObject(parsed.value, type, R);
  await verifySignature(parsed, registryKey);
  return parsed.value;
}

async function sha256b64(textValue) {
  return b64urlEncode(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8.encode(textValue))));
}

// --- status list bits (§5) -----------------------------------------------------------------

async function statusBits(list) {
  const gz = b64urlDecode(list.bits, "status-list.bits");
  const want = list.size / 8;
  const stream = new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"));
  const reader = stream.getReader();
  const out = new Uint8Array(want);
  let got = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (got + value.length > want) { reader.cancel(); throw new Malformed("status-list.bits: more entries than its size"); }
      out.set(value, got); got += value.length;
    }
  } catch (e) {
    if (e instanceof Malformed) throw e;
    throw new Malformed("status-list.bits: not one complete gzip member");
  }
  if (got !== want) throw new Malformed("status-list.bits: fewer entries than its size");
  return out;
}

function bitSet(bits, i) { return (bits[i >> 3] & (0x80 >> (i % 8))) !== 0; }

// --- fetching the registry's facts ---------------------------------------------------------

const BUSY = "the registry is busy, try again in a minute";

async function postJson(path, body) {
  const r = await fetch(path, {
    method: "POST", credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer",
    headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  if (r.status === 429) throw new Error(BUSY);
  if (!r.ok) throw new Error(`it answered with an error, HTTP status ${r.status}`);
  return r.json();
}

// The registry's key, and how far the browser's clock is from the registry's: the Date
// header of this first answer (whole seconds, so the middle of the second), compared with the
// browser's clock when it arrived. No Date header: the browser's clock is all there is.
async function registryPin() {
  const r = await fetch("/.well-known/endorse-registry", { credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer" });
  if (r.status === 429) throw new Error(BUSY);
  if (!r.ok) throw new Error("the registry does not describe itself");
  const arrived = Date.now() / 1000;
  const info = await r.json();
  if (!info || typeof info.registry !== "string" || typeof info.key !== "string") throw new Error("the registry does not describe itself");
  const date = Date.parse(r.headers.get("date") ?? "");
  // A cache between us and the registry (the registry says no-store, but a CDN may not
  // listen) hands out its copy's Date; Age says how old that copy is (RFC 9111 §5.1).
  const age = Number.parseInt(r.headers.get("age") ?? "0", 10);
  const aged = Number.isFinite(age) && age > 0 ? age : 0;
  const offset = Number.isFinite(date) ? Math.round(date / 1000 + aged + 0.5 - arrived) : 0;
  return { R: info.registry, did: info.key, key: didKeyBytes(info.key, "registry key"), offset };
}

// Now, by the registry's clock as far as the browser can tell (see registryPin).
function registryNow(pin) { return Math.floor(Date.now() / 1000 + pin.offset); }

// --- the algorithm of §6.3, in the browser -------------------------------------------------

const SPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;

// NFKC, then case folding (toUpperCase().toLowerCase() folds as Unicode full case folding
// does for all but a few scripts, e.g. Cherokee; there the page would show a disagreement),
// then whitespace collapsed (§6.3 step 8a).
function normalizeName(s) {
  return s.normalize("NFKC").toUpperCase().toLowerCase().split(SPACE).filter(Boolean).join(" ");
}

async function browserVerify(token, expect, pin, notes, statements) {
  const now = registryNow(pin);
  const out = (verdict, detail, extra = {}) => ({ verdict, detail, now, ...extra });
  let parsed;
  try {
    parsed = parseToken(token, "endorsement");
    checkEndorsement(parsed.value);
  } catch (e) {
    if (e instanceof Malformed) return out("malformed", e.message);
    throw e;
  }
  const e = parsed.value;
  try {
    await verifySignature(parsed, didKeyBytes(e.iss, "endorsement.iss"));
  } catch (err) {
    if (err instanceof BadSignature) return out("bad_signature", err.message);
    throw err;
  }
  notes.push(["browser-signature", "Signature checked by your browser: genuine"]);

  // Step 4: the issuer's key binding, signed by the registry.
  const state = await statements();
  let issuer = null;
  if (typeof state.key_binding === "string") {
    try {
      const binding = await verifyRegistryToken(state.key_binding, "key-binding", pin.R, pin.key);
      if (binding.key === e.iss) issuer = { ...binding, revoked_from: null };
    } catch (err) {
      if (!(err instanceof Malformed || err instanceof BadSignature)) throw err;
    }
  }
  if (!issuer) return out("unknown_issuer", "key not bound to a verified identity", { e });
  notes.push(["browser-issuer", "Endorser's identity checked by your browser: this registry's signed confirmation is genuine"]);

  // Step 5: a key revocation (signed by the key or the registry) needs a registration.
  if (state.key_revocation) {
    issuer.revoked_from = await keyRevocationFrom(state.key_revocation, e.iss, pin);
    // A key revocation that does not verify, or is of another key, makes the registry's answer
    // unusable whole: no trusted issuer comes of it (spec §6.1).
    if (issuer.revoked_from === null) return out("unknown_issuer", "the key revocation given with the binding does not verify", { e });
  }
  if (issuer.revoked_from !== null) {
    const th = await sha256b64(token);
    let registration = null;
    if (e.status && typeof state.registration === "string") {
      try { registration = await verifyRegistryToken(state.registration, "registration", pin.R, pin.key); } catch (err) {
        if (!(err instanceof Malformed || err instanceof BadSignature)) throw err;
      }
    }
    if (!e.status || !registration || registration.th !== th || registration.iss !== e.iss ||
        registration.reg !== e.status.reg || registration.at >= issuer.revoked_from) {
      return out("issuer_key_revoked", "issuer key revoked, and no registration before it", { e, issuer });
    }
    notes.push(["browser-registration", "Registration date checked by your browser: recorded before the endorser revoked their key"]);
  }

  // Step 6: the status list, if this registry publishes the token's.
  let list = null, bits = null;
  if (e.status && e.status.reg === pin.R) {
    if (typeof state.status_list === "string") {
      list = await verifyRegistryToken(state.status_list, "status-list", pin.R, pin.key);
      if (list.list !== e.status.list) throw new Error("the registry answered another status list");
      bits = await statusBits(list);
      notes.push(["browser-status", "Revocation list checked by your browser: signed by this registry"]);
      if (e.status.idx >= list.size) { list = null; bits = null; }
      else if (bitSet(bits, e.status.idx)) return out("revoked", "the status list marks it revoked", { e, issuer, list });
    }
  }
  // Step 7.
  if (now + CLOCK_SKEW < e.nbf) return out("not_yet_valid", "nbf is in the future", { e, issuer, list });
  if (now - CLOCK_SKEW >= e.exp) return out("expired", "exp has passed", { e, issuer, list });
  // Step 8.
  if (expect.subject !== null) {
    const wanted = normalizeName(expect.subject);
    const names = [e.sub.name, e.sub.email, e.sub.handle].filter((n) => n !== undefined).map(normalizeName);
    // A code point unassigned in Unicode 14.0 matches no name, in every browser (§6.3 step 8a).
    if (hasUnassigned(expect.subject) || !names.includes(wanted)) return out("subject_mismatch", "subject differs", { e, issuer, list });
  }
  if (expect.presentation) {
    const problem = await holderProblem(expect.presentation, expect.nonce, e, token, now);
    if (problem) return out("subject_mismatch", problem, { e, issuer, list });
    notes.push(["browser-holder", "Candidate's key checked by your browser: whoever sent the answer holds the key this reference names, and signed your challenge"]);
  }
  if (expect.purpose !== null && !e.purposes.includes(expect.purpose)) return out("purpose_not_allowed", "purpose not allowed", { e, issuer, list });
  if (e.aud !== undefined && e.aud !== expect.audience) return out("audience_mismatch", "the audience differs from the page's", { e, issuer, list });
  // Step 9.
  if (!e.status || !list) return out("status_unavailable", "no status list covering this token", { e, issuer });
  if (list.iat > now + CLOCK_SKEW) return out("status_unavailable", "status list is from the future", { e, issuer });
  if (now > list.iat + list.ttl) return out("status_unavailable", "status list is stale", { e, issuer, list });
  return out("valid", "all checks passed", { e, issuer, list });
}

async function keyRevocationFrom(token, did, pin) {
  try {
    const parsed = parseToken(token, "key-revocation");
    const o = parsed.value;
    members(o, "key-revocation", ["type", "v", "key", "from", "by", "iat"], ["reason"]);
    time(o.from, "key-revocation.from");
    if (o.key !== did || (o.by !== did && o.by !== pin.did)) return null;
    await verifySignature(parsed, didKeyBytes(o.by, "key-revocation.by"));
    return o.from;
  } catch (err) {
    if (err instanceof Malformed || err instanceof BadSignature) return null;
    throw err;
  }
}

// --- the page ------------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);
const pad = (n) => String(n).padStart(2, "0");
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

// "14:02 UTC, 26 Nov 2026": every time on the page, written as the server writes it (pages.utc).
function utc(t) {
  const d = new Date(t * 1000);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

function tokenFromInput(raw) {
  const tooLong = (n) => new InputError(`That is too long to be a reference (${n} characters; a reference has at most 8192).`);
  if (raw.length > 2 * MAX_INPUT) throw tooLong(raw.length);
  let read;
  try { read = readPaste(raw); } catch (e) {
    // A long paste of no token: its length is the news (as on the server, pages.py).
    if (e instanceof InputError && raw.length > MAX_INPUT) throw tooLong(raw.length);
    throw e;
  }
  if (read.token !== null && read.token.length > MAX_INPUT) throw tooLong(read.token.length);
  return read;
}

// --- Short links (spec §11.6) ---------------------------------------------------------------
// The id goes to the registry in a POST body, never on a request line, and the token it
// answers is checked as any token: a short link is a pointer, never evidence.
const SHORT_LINK_GONE = "This short link was withdrawn, or never existed. Ask whoever sent it for the full verification link.";
const SHORT_LINK_NOTE = "Opened from a short link: this registry gave the reference it stands for, and it was checked like any other.";

async function resolveShortLink(id) {
  const r = await fetch("/api/v1/links/resolve", {
    method: "POST", credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer",
    headers: { "content-type": "application/json" }, body: JSON.stringify({ id }),
  });
  if (r.status === 404) throw new InputError(SHORT_LINK_GONE);
  if (r.status === 429) throw new InputError(BUSY_PAGE);
  if (!r.ok) throw new InputError(`The registry could not open this short link (HTTP status ${r.status}). Ask for the full verification link.`);
  const answer = await r.json();
  if (!answer || typeof answer.token !== "string") throw new InputError("The registry's answer for this short link holds no reference.");
  return answer.token;
}

// The token a read paste holds: its own, or, for a short link of this registry, the one the
// registry gives for it. A short link of another registry is for that registry's page.
async function tokenOfPaste(read) {
  if (read.link === null) return read.token;
  const pin = await registryPin().catch(() => null);
  if (pin && read.registry !== pin.R) {
    throw new InputError(`That short link is another registry's (${read.registry}): open it there, or ask for the full verification link.`);
  }
  return resolveShortLink(read.link);
}

// --- Reading a paste (spec §11.5) -----------------------------------------------------------
// The same rule as endorse.protocol.paste.read_paste, step for step, checked against
// spec/vectors/paste.json in the browser tests: take off what mail and chat add around and
// inside a token or link (soft line breaks, wrapping, brackets, quotes, the sentence's
// punctuation), and change nothing else. Returns {token, registry, link} (registry null for
// a bare token; for a short link, spec §11.6, token is null and link its id); throws
// InputError with a sentence for the person.
const MAX_PASTE = 2 * 262144;
const PASTE_SOFT_BREAK = /=(?:\r\n|\r|\n)/g;
const PASTE_WRAP = /[ \t]*(?:\r\n|\r|\n)[ \t\r\n]*/g;
const PASTE_AROUND = new Set(" \t\r\n<>\"'()[]{}.,;:!?\u201c\u201d\u2018\u2019\u00ab\u00bb");
const PASTE_TOKEN = /^[a-z0-9-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;
const PASTE_LINK = /^(https?:\/\/[^/?#]+(?:\/[^?#]*)?)\/v(?:#|\/)([^/?#]+)$/i;
const PASTE_SHORT_LINK = /^(https?:\/\/[^/?#]+(?:\/[^?#]*)?)\/s#([^/?#]+)$/i;
const PASTE_SHORT_ID = /^[A-Za-z0-9_-]{21}[AQgw]$/;

function readPaste(raw) {
  if (raw.length > MAX_PASTE) {
    throw new InputError(`That is too long to be a reference (${raw.length} characters; a reference has at most 8192).`);
  }
  let text = raw.replace(PASTE_SOFT_BREAK, "").replace(PASTE_WRAP, "");
  let start = 0;
  let end = text.length;
  while (start < end && PASTE_AROUND.has(text[start])) start++;
  while (end > start && PASTE_AROUND.has(text[end - 1])) end--;
  text = text.slice(start, end);
  if (!text) throw new InputError("Paste a reference token or a verification link.");
  if (!/^https?:\/\//i.test(text)) {
    if (!PASTE_TOKEN.test(text)) throw new InputError(NOT_A_REFERENCE);
    return { token: text, registry: null, link: null };
  }
  const short = PASTE_SHORT_LINK.exec(text);
  const m = short ?? PASTE_LINK.exec(text);
  if (!m) throw new InputError("That link holds no reference; a verification link ends in /v#… or /v/… and the reference after it, a short link in /s#… and its id.");
  // Scheme and host are case-insensitive in a URL, lower-case in a registry id.
  const [scheme, rest] = [m[1].slice(0, m[1].indexOf("://")), m[1].slice(m[1].indexOf("://") + 3)];
  const slash = rest.indexOf("/");
  const host = slash < 0 ? rest : rest.slice(0, slash);
  const registry = `${scheme.toLowerCase()}://${host.toLowerCase()}${slash < 0 ? "" : rest.slice(slash)}`;
  if (!RE.registry.test(registry)) {
    throw new InputError(`That link is not a registry's: ${m[1]} is not an https address (http only on this computer).`);
  }
  if (short) {
    if (!PASTE_SHORT_ID.test(m[2])) throw new InputError("That short link is damaged: its id is 22 letters, digits, - and _ after /s#. Paste the whole link again.");
    return { token: null, registry, link: m[2] };
  }
  if (!PASTE_TOKEN.test(m[2])) throw new InputError("That link's reference is damaged: a reference is letters, digits, - and _ in three parts separated by dots. Paste the whole link again.");
  return { token: m[2], registry, link: null };
}

const NOT_A_REFERENCE = "That is not a reference: a reference is one line like “endorsement-v1.…” (letters, digits, - and _ in three parts separated by dots), or a verification link.";

class InputError extends Error {}

function showInputError(message) {
  const p = $("input-error");
  p.textContent = message || "";
  p.hidden = !message;
}

function setText(id, value) { $(id).textContent = value ?? ""; }

// A fact's row: shown with its text, or hidden when there is nothing to say.
function setRow(id, value) {
  setText(id, value);
  $(`${id}-row`).hidden = !value;
}

// Each verdict in a few plain words, for the browser's own finding and a disagreement.
const FINDINGS = {
  valid: "it is genuine, in force and not withdrawn",
  revoked: "the endorser has withdrawn it",
  expired: "it has expired",
  not_yet_valid: "it is not in force yet",
  bad_signature: "the signature does not match, so it was altered or forged",
  malformed: "it is not a readable reference",
  unknown_issuer: "it is signed with a key not linked to a verified person",
  issuer_key_revoked: "the endorser revoked their key, and this reference was not recorded before that",
  subject_mismatch: "it is about someone else",
  purpose_not_allowed: "the endorser did not agree to this purpose",
  audience_mismatch: "it was given for a different recipient",
  status_unavailable: "whether it was withdrawn could not be checked",
  refused: "it is a genuine refusal: the referee does not give a reference",
};
// As the server words them (pages.WITHHELD, pages.UNCONFIRMED_NOTE, pages.QR_TOO_LONG,
// pages.QR_BUSY, pages.RECEIPT_HINT, pages.BUSY).
const WITHHELD = {
  bad_signature: "What this reference says is not shown: its signature does not match, so anyone could have written it.",
  malformed: "What this reference says is not shown: it could not be read.",
};
const UNCONFIRMED_NOTE = "Signed with a key that is not linked to a verified person: everything below is what the reference claims, unconfirmed.";
const QR_CAPTION = "QR code of this reference's verification link, for sharing it";
const QR_TOO_LONG = "No QR code: this reference's link is too long for one.";
const BUSY_PAGE = "The registry is busy: try again in a minute.";
const QR_BUSY = "No QR code: this registry is busy drawing them; reload the page in a minute.";
const RECEIPT_HINT = "This registry's signed record of this check: which reference (by a fingerprint of it), the verdict and when. It does not record the candidate or purpose you entered. Keep it if you may need to show that this check was made.";
const UNTRUSTED_RECEIPT = "The registry's answer could not be trusted, so this receipt proves nothing about the reference: do not keep it as a record of this check.";

// The claims shown, and whose check of their signature they rest on: the browser's own, or
// the registry's when the browser could not check. Claims of a token whose signature the
// browser found bad are attacker text, whatever the registry answers: never shown.
function shownFacts(browser, server) {
  if (browser?.e) return { e: browser.e, issuer: browser.issuer ?? null };
  if (browser && (browser.verdict === "bad_signature" || browser.verdict === "malformed")) return { e: null, issuer: null };
  const e = server?.claims ?? null;
  const issuer = server?.issuer?.email ? { email: server.issuer.email, name: server.issuer.name, since: server.issuer.since, revoked_from: null } : null;
  return { e, issuer: e ? issuer : null };
}

// The sentence of a verdict on this token: a refusal's own for the scope verdicts.
function sentenceOf(verdict, token) {
  if (tokenKind(token) === "refusal" && REFUSAL_SENTENCES[verdict]) return REFUSAL_SENTENCES[verdict];
  return SENTENCES[verdict];
}

function render(token, expect, browser, server, notes, serverProblem, nameOnly, pin) {
  const section = $("result");
  const serverVerdict = server?.verdict ?? "";
  const browserVerdict = browser ? browser.verdict : "unsupported";
  let verdict, sentence;
  const disagree = browser && server && browser.verdict !== server.verdict;
  if (nameOnly) verdict = "subject_mismatch";
  else if (serverProblem && browser) { verdict = "disagreement"; }
  else if (disagree) { verdict = "disagreement"; }
  else verdict = server ? server.verdict : (browser ? browser.verdict : "status_unavailable");
  if (verdict === "disagreement") {
    sentence = "This reference could not be confirmed: your browser and the registry reached different verdicts.";
  } else if (nameOnly) {
    sentence = sentenceOf("subject_mismatch", token);
  } else if (verdict === "refused" && !server) {
    sentence = refusalSentence(browser.r);
  } else {
    sentence = server?.message ?? sentenceOf(verdict, token);
  }
  const valid = verdict === "valid";
  const refused = verdict === "refused";
  section.dataset.verdict = verdict;
  section.dataset.browserVerdict = browserVerdict;
  section.dataset.serverVerdict = serverVerdict;
  section.className = valid ? "is-valid" : "is-invalid";
  const mark = $("verdict-mark");
  mark.textContent = valid ? "✓" : "✗";
  mark.setAttribute("aria-label", valid ? "Valid reference" : (refused ? REFUSAL_LABEL : "Not valid"));
  setText("verdict-sentence", sentence);

  const dis = $("disagreement");
  if (verdict === "disagreement") {
    dis.textContent = serverProblem
      ? `The registry's answer could not be trusted: ${serverProblem}. Your browser's finding: ${FINDINGS[browserVerdict]}. Do not rely on this reference.`
      : `Your browser and the registry disagree. Your browser's finding: ${FINDINGS[browserVerdict]}. The registry's finding: ${FINDINGS[serverVerdict]}. Do not rely on this reference; check again later or contact the registry.`;
    dis.hidden = false;
  } else { dis.textContent = ""; dis.hidden = true; }
  // A clock that is off is the recruiter's to fix, not the registry's fault (spec §11.3).
  const off = pin ? Math.abs(pin.offset) : 0;
  setNote("clock-note", off > CLOCK_SKEW
    ? `Your computer's clock is ${Math.round(off / 60)} minutes ${pin.offset < 0 ? "fast" : "slow"}; dates were judged by the registry's time.`
    : "");
  setNote("match-note", nameOnly
    ? "The candidate's name could not be matched the same way by your browser and the registry: compare the name you typed with the one in the reference."
    : "");

  const refusal = tokenKind(token) === "refusal";
  const { e, issuer } = refusal ? { e: null, issuer: null } : shownFacts(browser, server);
  $("facts").hidden = !e;
  setText("facts-withheld", e ? "" : (WITHHELD[browser?.verdict ?? serverVerdict] ?? "What this reference says is not shown: it could not be checked."));
  $("facts-withheld").hidden = !!e;
  setText("facts-note", e && !issuer ? UNCONFIRMED_NOTE : "");
  $("facts-note").hidden = !(e && !issuer);
  if (!e) {
    for (const id of ["endorser", "subject-name", "relationship", "purposes", "validity", "identity", "status", "statement"]) setRow(id, "");
  } else {
    setRow("endorser", issuer ? (issuer.name || e.iss_name) : `Unconfirmed: the reference says it is from “${e.iss_name}”`);
    setRow("subject-name", e.sub.name + [e.sub.email, e.sub.handle].filter((x) => x !== undefined && x !== null).map((x) => ` (${x})`).join(""));
    let rel = `${e.rel.role} · ${e.rel.context}`;
    if (e.rel.org !== undefined) rel += ` · ${e.rel.org}`;
    if (e.rel.from !== undefined || e.rel.to !== undefined) rel += ` · ${e.rel.from ?? "…"} to ${e.rel.to ?? "…"}`;
    setRow("relationship", rel);
    setRow("purposes", e.purposes.join(", "));
    setRow("validity", `${utc(e.nbf)} to ${utc(e.exp)}`);
    if (issuer) {
      const who = issuer.name ? `${issuer.name} <${issuer.email}>` : issuer.email;
      let id = `${who}, e-mail address confirmed by this registry`;
      if (issuer.since !== null && issuer.since !== undefined) id += ` at ${utc(issuer.since)}`;
      if (issuer.revoked_from) id += `; the endorser revoked this key at ${utc(issuer.revoked_from)}`;
      setRow("identity", id);
    } else setRow("identity", "Not linked to a verified identity: who gave this reference is unknown.");
    setRow("status", statusText(e, verdict, browser, server));
    setRow("statement", e.stmt ?? "");
  }
  showStatedAndNotCompared(e, issuer, expect);
  showRefusal(refusal, browser, server, verdict);

  const checks = $("checks");
  checks.replaceChildren();
  const item = (check, passed, t) => {
    const li = document.createElement("li");
    li.textContent = t; li.dataset.check = check; li.dataset.passed = String(passed);
    checks.append(li);
    return li;
  };
  if (!browser) item("browser", false, "Your browser cannot check signatures on this page, so the signature was checked by the registry only.");
  // What the browser checked of the token, its finding, then its check of the registry's answer.
  for (const [check, t] of notes) if (check !== "browser-receipt") item(check, true, t);
  if (browser && browser.verdict !== "valid") {
    // The precise verdict and what the browser found stay in the markup, for whoever looks.
    const li = item("browser", false, `Your browser's finding: ${FINDINGS[browser.verdict]}`);
    li.dataset.verdict = browser.verdict; li.dataset.detail = browser.detail;
  }
  for (const [check, t] of notes) if (check === "browser-receipt") item(check, true, t);
  if (server) {
    // The browser made every other check itself: the registry's are listed when they failed.
    for (const c of server.checks ?? []) {
      if (c.name === "signature" || c.name === "status" || !c.passed) item(c.name, c.passed, registryCheckText(c, server));
    }
  } else if (serverProblem) item("registry", false, `The registry gave no verdict: ${serverProblem}`);

  $("next-steps").hidden = valid || refused;
  setText("receipt", server?.receipt ?? "");
  $("receipt-missing").hidden = true;
  // A receipt proves the registry's answer; one that could not be trusted proves nothing.
  const trusted = !!server?.receipt && verdict !== "disagreement";
  setText("receipt-hint", trusted ? RECEIPT_HINT : UNTRUSTED_RECEIPT);
  $("copy-receipt").hidden = !trusted;
  $("receipt-section").hidden = !server?.receipt;
  section.hidden = false;
  return valid;
}

// --- What the endorser only states, and what the check did not compare (spec §6.5) ---------
// Worded as the server words them (pages.name_warning, pages.CONTACT, findings.py).
const NOT_COMPARED = {
  subject: "The candidate was not compared: check that the name and e-mail in it are theirs.",
  purpose: "The purpose was not compared: check that it allows what you will use it for.",
  holder: "The candidate did not prove that they hold the key this reference names: ask them to answer a challenge.",
};

function showStatedAndNotCompared(e, issuer, expect) {
  const warning = e && issuer && issuer.name && normalizeName(issuer.name) !== normalizeName(e.iss_name)
    ? `The endorser signed as “${e.iss_name}”, but this registry verified their key as “${issuer.name}”: only the verified name is confirmed.`
    : "";
  setNote("name-warning", warning);
  if (e && e.rel.org !== undefined && issuer && issuer.email) {
    const rel = $("relationship");
    rel.textContent += ` (their verified e-mail is at ${issuer.email.slice(issuer.email.lastIndexOf("@") + 1)})`;
  }
  setRow("contact", !e ? "" : (e.contact
    ? "Yes: the endorser agrees to be contacted about this reference"
    : "No: the endorser has not agreed to be contacted"));
  const missing = [];
  if (e) {
    if (!expect.subject) missing.push("subject");
    if (e.sub.key !== undefined && !expect.presentation) missing.push("holder");
    if (!expect.purpose) missing.push("purpose");
  }
  const list = $("not-compared");
  list.replaceChildren(...missing.map((name) => {
    const li = document.createElement("li");
    li.textContent = NOT_COMPARED[name];
    return li;
  }));
  list.hidden = missing.length === 0;
}

function setNote(id, message) {
  setText(id, message);
  $(id).hidden = !message;
}

// A registry check in plain words, as the server words it (pages._check_text).
function registryCheckText(c, server) {
  const e = server.claims;
  const said = (what, found) => `${what}: ${found}`;
  const refusalWords = e?.type === "refusal" ? REFUSAL_CHECK_WORDS[c.name] : undefined;
  if (refusalWords) return said(refusalWords[0], refusalWords[c.passed ? 1 : 2]);
  switch (c.name) {
    case "signature":
      return said("Signature checked by this registry", c.passed ? "genuine" : "does not match, so it was altered or forged");
    case "status": {
      let found;
      if (server.verdict === "revoked") found = "revoked by the endorser";
      else if (e && !e.status) found = "not possible, the reference is not registered";
      else found = c.passed ? "not revoked" : "no up-to-date list available";
      return said("Revocation checked with this registry", found);
    }
    case "format": return said("Reference read by this registry", "damaged, incomplete or not a reference");
    case "issuer": return said("Endorser's identity checked with this registry", "not linked to a verified person");
    case "issuer_key": return said("Endorser's key checked with this registry", "revoked, and this reference was not recorded before that");
    case "validity": {
      let found = "not in force now";
      if (e && server.verdict === "not_yet_valid") found = `not in force until ${utc(e.nbf)}`;
      else if (e && server.verdict === "expired") found = `expired at ${utc(e.exp)}`;
      return said("Dates checked by this registry", found);
    }
    case "subject": return said("Candidate checked by this registry", "the reference names someone else");
    case "holder": return said("Candidate's own key checked by this registry", "someone else presented the reference");
    case "purpose": return said("Purpose checked by this registry", "not agreed by the endorser");
    case "audience": return said("Recipient checked by this registry", "given for someone else");
    default: return said("Checked by this registry", `${String(c.name).replaceAll("_", " ")} failed`);
  }
}

// The status row: revoked or not and as of when, said once (as pages._status_text says it).
function statusText(e, verdict, browser, server) {
  const listAt = browser?.list?.iat ?? server?.status?.checked_at ?? null;
  if (verdict === "revoked" || browser?.verdict === "revoked" || server?.verdict === "revoked") {
    return listAt === null ? "Revoked: the endorser has withdrawn it." : `Revoked: the endorser has withdrawn it, as this registry's list of ${utc(listAt)} shows.`;
  }
  if (!e.status) return "Not registered with a registry: whether it was withdrawn cannot be known.";
  if (listAt !== null) return `Not revoked as of ${utc(listAt)}`;
  const decided = browser?.verdict ?? server?.verdict;
  if (decided === "unknown_issuer" || decided === "issuer_key_revoked") return "Not checked: the reference failed an earlier check.";
  return "Could not be checked: this registry had no up-to-date list.";
}

async function serverVerify(token, expect) {
  const body = { token };
  if (expect.subject !== null) body.subject = expect.subject;
  if (expect.purpose !== null) body.purpose = expect.purpose;
  if (expect.audience) body.audience = expect.audience;
  if (expect.presentation) { body.presentation = expect.presentation; body.nonce = expect.nonce; }
  const answer = await postJson("/api/v1/verify", body);
  if (!answer || !VERDICTS.has(answer.verdict)) throw new Error("its answer holds no verdict");
  return answer;
}

async function checkReceipt(answer, token, pin, notes) {
  // The receipt must be the registry's, for this token, with the verdict shown, and made
  // now (by the registry's clock as read before the token was sent): not an old one replayed.
  let receipt;
  try {
    receipt = await verifyRegistryToken(answer.receipt, "receipt", pin.R, pin.key);
  } catch (e) {
    if (e instanceof Malformed || e instanceof BadSignature) throw new Error("its signed receipt does not match this check");
    throw e;
  }
  if (receipt.th !== await sha256b64(token) || receipt.verdict !== answer.verdict) throw new Error("its signed receipt does not match this check");
  if (Math.abs(receipt.at - registryNow(pin)) > CLOCK_SKEW) throw new Error(`its signed receipt is dated ${utc(receipt.at)}, not now`);
  notes.push(["browser-receipt", "Registry's receipt checked by your browser: signed by this registry, for this check, now"]);
}

function hideQr() {
  const figure = $("qr");
  figure.querySelector("svg, img")?.remove();
  figure.hidden = true;
}

// The QR code of a valid reference's link; resolves once it is shown, or its absence said.
// A reference given for a named recipient is valid only for them: the registry draws its
// QR code for the audience the page checked it for (spec §11.3 item 11).
async function showQr(token, audience) {
  const figure = $("qr");
  const caption = $("qr-caption");
  let failure = "No QR code: it could not be loaded.";
  try {
    const r = await fetch("/api/v1/qr", {
      method: "POST", credentials: "omit", referrerPolicy: "no-referrer",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(audience ? { token, audience } : { token }),
    });
    if (r.status === 429) failure = QR_BUSY;
    if (r.status === 422 && String((await r.json()).type).endsWith(":qr-too-long")) failure = QR_TOO_LONG;
    if (!r.ok || r.headers.get("content-type") !== "image/svg+xml") throw new Error(failure);
    const blob = await r.blob();
    const dataUrl = await new Promise((resolve, reject) => {
      const fr = new FileReader();
      fr.onload = () => resolve(fr.result); fr.onerror = reject;
      fr.readAsDataURL(blob);
    });
    const img = document.createElement("img");
    img.alt = "QR code of the verification link";
    await new Promise((resolve, reject) => { img.onload = resolve; img.onerror = reject; img.src = dataUrl; });
    figure.querySelector("svg, img")?.remove();
    figure.prepend(img);
    caption.textContent = QR_CAPTION;
  } catch (e) {
    figure.querySelector("svg, img")?.remove();
    caption.textContent = failure;
  }
  figure.hidden = false;
}

// Verdicts reached after the subject check (§6.3 step 8a), so that a registry's
// subject_mismatch against one of them is a difference on the subject check alone.
const AFTER_SUBJECT = new Set(["valid", "purpose_not_allowed", "audience_mismatch"]);

async function check(token, expect) {
  const section = $("result");
  section.dataset.state = "checking";
  section.setAttribute("aria-busy", "true");
  const notes = [];
  let browser = null, server = null, serverProblem = null, pin = null;
  const supported = await ed25519Supported();
  try {
    pin = await registryPin();
  } catch (e) {
    serverProblem = e.message === BUSY ? BUSY : "this registry's key could not be fetched";
  }
  // The registry's statements, asked for once per check, with the token in a POST body.
  let asked = null;
  const statements = () => (asked ??= postJson("/api/v1/statements", { token }));
  const inBrowser = async (expected, into) => {
    const verifier = tokenKind(token) === "refusal" ? browserVerifyRefusal : browserVerify;
    try { return await verifier(token, expected, pin, into, statements); } catch (e) {
      return e instanceof Unsupported ? null : {
        verdict: "status_unavailable",
        detail: `the browser could not fetch or check the registry's facts: ${e.message}`,
      };
    }
  };
  if (supported && pin) browser = await inBrowser(expect, notes);
  if (pin) {
    try {
      server = await serverVerify(token, expect);
      if (supported) {
        try { await checkReceipt(server, token, pin, notes); } catch (e) { serverProblem = e.message; }
      }
    } catch (e) { serverProblem = e.message; }
  }
  // The browser folds letter case as JavaScript does, the registry as Python does: they can
  // differ on a few letters (dotless ı, for one). A difference on the subject check alone is
  // a name that could not be matched, not a registry to distrust.
  let nameOnly = false;
  if (browser && server && !serverProblem && expect.subject !== null && browser.verdict !== server.verdict) {
    if (server.verdict === "subject_mismatch") nameOnly = AFTER_SUBJECT.has(browser.verdict);
    else if (browser.verdict === "subject_mismatch") nameOnly = (await inBrowser({ ...expect, subject: null }, []))?.verdict === server.verdict;
  }
  if (serverProblem === BUSY || browser?.detail?.endsWith(BUSY)) {
    // Over the rate limit: nothing was decided, and nothing is shown as if it had been.
    showInputError(BUSY_PAGE);
    hideQr();
    section.hidden = true;
  } else {
    const valid = render(token, expect, browser, server, notes, serverProblem, nameOnly, pin);
    // A QR code invites sharing: only for a valid reference (as the server-rendered view).
    if (valid) await showQr(token, expect.audience ?? null); else hideQr();
  }
  // Done only once everything the result shows is there.
  $("loading")?.setAttribute("hidden", "");
  section.removeAttribute("aria-busy");
  section.dataset.state = "done";
}

// The purpose menu's "Other…" needs its text field; the other choices do not.
function purposeChoice() {
  const other = () => { $("purpose-other-field").hidden = $("purpose").value !== "other"; };
  $("purpose").addEventListener("change", other);
  other();
}

// The purpose chosen, as the server reads the form (pages._purpose); an InputError otherwise.
function chosenPurpose() {
  const choice = $("purpose").value;
  if (choice !== "other") return choice || null;
  const other = $("purpose-other").value.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
  if (!other) throw new InputError("Type the purpose you chose “Other” for, e.g. x-board-reference.");
  if (other.length > 64) throw new InputError("The purpose may have at most 64 characters.");
  if (!(PURPOSES.has(other) || (other.length <= 42 && RE.purpose.test(other)))) {
    throw new InputError("A purpose of your own is written like x-board-reference: “x-”, then lowercase letters and digits in words joined by “-”. For an employment, tenancy, academic, volunteer or character reference, choose it in the list.");
  }
  return other;
}

function fromForm() {
  const form = $("check-form");
  purposeChoice();
  challengeForm();
  form.addEventListener("submit", (event) => {
    // A pasted JSON credential (spec §13) goes to the registry as the form posts it: its
    // proof is checked there only, and the page it answers says so.
    if (/^[ \t\r\n]*\{/.test($("token").value)) return;
    event.preventDefault();
    const button = $("check-button");
    if (button.disabled) return;
    let read;
    try { read = tokenFromInput($("token").value); } catch (e) {
      if (!(e instanceof InputError)) throw e;
      showInputError(e.message);
      $("result").hidden = true;
      $("token").focus();
      return;
    }
    const subject = $("subject").value.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
    if (subject.length > 256) { showInputError("The candidate's name or e-mail may have at most 256 characters."); return; }
    const audience = $("audience").value.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
    if (audience.length > 256) { showInputError("Who you are (the recipient) may have at most 256 characters."); return; }
    let purpose;
    try { purpose = chosenPurpose(); } catch (e) {
      if (!(e instanceof InputError)) throw e;
      showInputError(e.message);
      $("purpose-other").focus();
      return;
    }
    showInputError("");
    // Busy until the result is shown: a second press would only start a second check.
    const label = button.textContent;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    button.textContent = "Checking…";
    let holder;
    try { holder = challengeAnswer(); } catch (e) {
      if (!(e instanceof InputError)) throw e;
      showInputError(e.message);
      $("presentation").focus();
      return;
    }
    const expect = { subject: subject || null, purpose, audience: audience || null, ...holder };
    tokenOfPaste(read).then((token) => check(token, expect), (e) => {
      if (!(e instanceof InputError)) throw e;
      showInputError(e.message);
      $("result").hidden = true;
    }).finally(() => {
      button.disabled = false;
      button.removeAttribute("aria-busy");
      button.textContent = label;
    }).then(() => $("result").focus());
  });
}

// --- The candidate's key: a challenge made here, answered with endorse present (spec §4.8) -
let challengeNonce = null;

function challengeForm() {
  $("challenge-field").hidden = false;
  $("make-challenge").addEventListener("click", () => {
    challengeNonce = b64urlEncode(crypto.getRandomValues(new Uint8Array(16)));
    $("challenge-command").textContent = `endorse present THEIR-LINK --nonce ${challengeNonce}`;
    $("challenge").hidden = false;
    $("presentation").focus();
  });
}

// The answer pasted, read as any paste (§11.5) and parsed: {presentation, nonce}, or {}.
function challengeAnswer() {
  const raw = $("presentation").value;
  if (!raw.trim()) return {};
  if (challengeNonce === null) throw new InputError("Make a challenge first and send it to the candidate: their answer must sign it.");
  let presentation;
  try {
    presentation = readPaste(raw).token;
    if (presentation === null) throw new InputError("a short link is no presentation");
    parseToken(presentation, "presentation");
  } catch (e) {
    if (!(e instanceof InputError) && !(e instanceof Malformed)) throw e;
    throw new InputError("That answer is not a presentation: ask the candidate for exactly what endorse present printed.");
  }
  return { presentation, nonce: challengeNonce };
}

// Spec §6.3 step 8b in the browser: the subject key signed this challenge over this token.
async function holderProblem(presentation, nonce, e, token, now) {
  if (e.sub.key === undefined) return "the reference names no candidate key, so nothing can be proven with it";
  let parsed;
  try { parsed = parseToken(presentation, "presentation"); } catch (err) { return `presentation: ${err.message}`; }
  const p = parsed.value;
  if (p.key !== e.sub.key) return "the answer was signed by another key than the candidate's";
  try { await verifySignature(parsed, didKeyBytes(e.sub.key, "sub.key")); } catch (err) {
    if (err instanceof Unsupported) throw err;
    return "the answer's signature does not verify";
  }
  if (p.th !== await sha256b64(token)) return "the answer is for another reference";
  if (p.nonce !== nonce) return "the answer signs another challenge";
  if (p.aud !== undefined) return "the answer is for another verifier";
  if (typeof p.iat !== "number" || Math.abs(now - p.iat) > CLOCK_SKEW) return "the answer is too old or from the future";
  return null;
}

function copyReceipt() {
  $("copy-receipt").addEventListener("click", async () => {
    const pre = $("receipt");
    try {
      await navigator.clipboard.writeText(pre.textContent);
      setText("copy-status", "Receipt copied.");
    } catch (e) {
      // No clipboard access: select the text so the recruiter can copy it themselves.
      const range = document.createRange();
      range.selectNodeContents(pre);
      const sel = window.getSelection();
      sel.removeAllRanges(); sel.addRange(range);
      setText("copy-status", "Receipt selected: press Ctrl+C (or ⌘C) to copy it.");
    }
  });
}

// --- claimed references: refusals, policies, reference requests ----------------------------
//
// Issue 9 (spec §4.11-§4.13, §11.4). Kept apart from the endorsement code above: a refusal
// goes through the same check() as an endorsement (browser and registry verdicts, receipt)
// and is shown in the same #result, with rows of its own; the requester's page (/r) checks
// the registry's signature on a reference request and then the answer, if any.

const REFUSAL_LABEL = "A refusal, not a reference";
const REFUSAL_REASONS = new Set(["not_known", "no_reference", "prefer_not_to_say"]);
const REQUEST_WINDOW = 2592000;
const REFUSAL_UNCONFIRMED = "Signed with a key that is not linked to a verified person: everything below is what the refusal claims, unconfirmed.";
// A refusal's registry checks (spec §6.4), as the server words them (pages._REFUSAL_CHECK_WORDS).
const REFUSAL_CHECK_WORDS = {
  format: ["Refusal read by this registry", "complete and readable", "damaged, incomplete or not a refusal"],
  issuer: ["Referee's identity checked with this registry", "e-mail address confirmed", "not linked to a verified person"],
  issuer_key: ["Referee's key checked with this registry", "not revoked", "revoked, so no refusal signed with it counts"],
  validity: ["Dates checked by this registry", "in force now", "not in force now"],
  subject: ["Candidate checked by this registry", "the refusal names them", "the refusal names someone else"],
  purpose: ["Purpose checked by this registry", "the refusal covers it", "the refusal is for another purpose"],
};
const POLICY_SENTENCE = "References from this person come only as signed tokens; ask the candidate for one.";

// The type a token's prefix names ("endorsement", "refusal", …), or "" for anything else.
function tokenKind(token) {
  const m = /^([a-z-]+)-v1\./.exec(token);
  return m ? m[1] : "";
}

function checkSubjectMember(sub, where) {
  members(sub, where, ["name"], ["email", "handle", "key"]);
  text(sub.name, `${where}.name`, 128);
  if (sub.email === undefined && sub.handle === undefined) throw new Malformed(`${where}: needs an email or a handle`);
  if (sub.email !== undefined) pattern(sub.email, `${where}.email`, RE.email, 254);
  if (sub.handle !== undefined) asciiText(sub.handle, `${where}.handle`, 128);
  if (sub.key !== undefined) didKeyBytes(sub.key, `${where}.key`);
}

function checkRelationshipMember(rel, where) {
  members(rel, where, ["context", "role"], ["org", "from", "to"]);
  text(rel.context, `${where}.context`, 64);
  text(rel.role, `${where}.role`, 64);
  if (rel.org !== undefined) text(rel.org, `${where}.org`, 128);
  if (rel.from !== undefined) pattern(rel.from, `${where}.from`, RE.period);
  if (rel.to !== undefined) pattern(rel.to, `${where}.to`, RE.period);
  if (rel.from !== undefined && rel.to !== undefined && months(rel.to, true) < months(rel.from, false)) {
    throw new Malformed(`${where}: the period ends before it starts`);
  }
}

function checkOnePurpose(p, where) {
  if (typeof p !== "string" || !(PURPOSES.has(p) || (p.length <= 42 && RE.purpose.test(p)))) throw new Malformed(`${where}: unknown purpose`);
}

// §4.12: a referee's signed refusal.
function checkRefusal(o) {
  members(o, "refusal", ["type", "v", "id", "iss", "iss_name", "sub", "iat", "exp"], ["purpose", "reason", "req"]);
  pattern(o.id, "refusal.id", RE.id);
  didKeyBytes(o.iss, "refusal.iss");
  text(o.iss_name, "refusal.iss_name", 128);
  checkSubjectMember(o.sub, "refusal.sub");
  if (o.purpose !== undefined) checkOnePurpose(o.purpose, "refusal.purpose");
  if (o.reason !== undefined && !REFUSAL_REASONS.has(o.reason)) throw new Malformed("refusal.reason: not a defined reason");
  if (o.req !== undefined) pattern(o.req, "refusal.req", RE.id);
  time(o.iat, "refusal.iat"); time(o.exp, "refusal.exp");
  if (!(o.exp - o.iat > 0 && o.exp - o.iat <= 157852800)) throw new Malformed("refusal.exp: validity window out of range");
}

// §4.13: an endorser's standing policy.
function checkPolicy(o) {
  members(o, "policy", ["type", "v", "iss", "iss_name", "refs", "notify", "iat"]);
  didKeyBytes(o.iss, "policy.iss");
  text(o.iss_name, "policy.iss_name", 128);
  if (o.refs !== "signed-tokens-only") throw new Malformed("policy.refs: not a defined policy");
  if (typeof o.notify !== "boolean") throw new Malformed("policy.notify: must be a boolean");
  time(o.iat, "policy.iat");
}

// §4.11: a reference request, signed by the registry R.
function checkReferenceRequest(o, R) {
  const where = "reference-request";
  members(o, where, ["type", "v", "reg", "id", "by", "referee", "sub", "rel", "purpose", "iat", "exp"], ["aud"]);
  if (o.reg !== R) throw new Malformed(`${where}: signed for another registry`);
  pattern(o.id, `${where}.id`, RE.id);
  members(o.by, `${where}.by`, ["email", "method"], ["key", "name"]);
  pattern(o.by.email, `${where}.by.email`, RE.email, 254);
  if (o.by.method !== "email-code" && o.by.method !== "key-binding") throw new Malformed(`${where}.by.method`);
  if ((o.by.method === "key-binding") !== (o.by.key !== undefined)) throw new Malformed(`${where}.by.key: present iff the method is key-binding`);
  if (o.by.key !== undefined) didKeyBytes(o.by.key, `${where}.by.key`);
  if (o.by.name !== undefined) text(o.by.name, `${where}.by.name`, 128);
  pattern(o.referee, `${where}.referee`, RE.email, 254);
  checkSubjectMember(o.sub, `${where}.sub`);
  checkRelationshipMember(o.rel, `${where}.rel`);
  checkOnePurpose(o.purpose, `${where}.purpose`);
  if (o.aud !== undefined) asciiText(o.aud, `${where}.aud`, 256);
  time(o.iat, `${where}.iat`); time(o.exp, `${where}.exp`);
  if (!(o.iat < o.exp && o.exp - o.iat <= REQUEST_WINDOW)) throw new Malformed(`${where}.exp: deadline out of range`);
}

// The signer's identity as this registry signed it (§6.3 steps 4-5 for a signer without
// registrations): the binding, and the key revocation's start if there is one. Null when the
// key is bound to nobody, or when the revocation given with the binding does not verify (the
// registry's answer is then unusable whole: no trusted signer comes of it, spec §6.1).
async function boundSigner(did, pin, statements) {
  const state = await statements();
  let signer = null;
  if (typeof state.key_binding === "string") {
    try {
      const binding = await verifyRegistryToken(state.key_binding, "key-binding", pin.R, pin.key);
      if (binding.key === did) signer = { ...binding, revoked_from: null };
    } catch (err) {
      if (!(err instanceof Malformed || err instanceof BadSignature)) throw err;
    }
  }
  if (signer && state.key_revocation) {
    signer.revoked_from = await keyRevocationFrom(state.key_revocation, did, pin);
    if (signer.revoked_from === null) return null;
  }
  return signer;
}

// §6.3 as it applies to a refusal (spec §4.12): the verdict is "refused" when it is genuine.
async function browserVerifyRefusal(token, expect, pin, notes, statements) {
  const now = registryNow(pin);
  const out = (verdict, detail, extra = {}) => ({ verdict, detail, now, ...extra });
  let parsed;
  try {
    parsed = parseToken(token, "refusal");
    checkRefusal(parsed.value);
  } catch (e) {
    if (e instanceof Malformed) return out("malformed", e.message);
    throw e;
  }
  const r = parsed.value;
  try {
    await verifySignature(parsed, didKeyBytes(r.iss, "refusal.iss"));
  } catch (err) {
    if (err instanceof BadSignature) return out("bad_signature", err.message);
    throw err;
  }
  notes.push(["browser-signature", "Signature checked by your browser: genuine"]);
  const issuer = await boundSigner(r.iss, pin, statements);
  if (!issuer) return out("unknown_issuer", "key not bound to a verified identity", { r });
  notes.push(["browser-issuer", "Referee's identity checked by your browser: this registry's signed confirmation is genuine"]);
  // A refusal is never registered: a revoked key's refusals all stop counting.
  if (issuer.revoked_from !== null) return out("issuer_key_revoked", "the referee revoked this key", { r, issuer });
  if (now + CLOCK_SKEW < r.iat) return out("not_yet_valid", "iat is in the future", { r, issuer });
  if (now - CLOCK_SKEW >= r.exp) return out("expired", "exp has passed", { r, issuer });
  if (expect.subject !== null) {
    const wanted = normalizeName(expect.subject);
    const names = [r.sub.name, r.sub.email, r.sub.handle].filter((n) => n !== undefined).map(normalizeName);
    if (hasUnassigned(expect.subject) || !names.includes(wanted)) return out("subject_mismatch", "subject differs", { r, issuer });
  }
  if (expect.purpose !== null && r.purpose !== undefined && r.purpose !== expect.purpose) {
    return out("purpose_not_allowed", "the refusal is for another purpose", { r, issuer });
  }
  return out("refused", "a genuine refusal", { r, issuer });
}

// The protocol's sentence of a genuine refusal (refusal_sentence, spec §6.4), worded alike
// here for when the registry gave none: the names are the signed ones; the row below it shows
// who the registry confirmed signed it.
function refusalSentence(r) {
  const purpose = r.purpose === undefined ? "" : ` for ${r.purpose}`;
  return `${r.iss_name} states that they do not give a reference for ${r.sub.name}${purpose}.`;
}

function identityText(issuer, who) {
  const named = issuer.name ? `${issuer.name} <${issuer.email}>` : issuer.email;
  let id = `${named}, e-mail address confirmed by this registry`;
  if (issuer.since !== null && issuer.since !== undefined) id += ` at ${utc(issuer.since)}`;
  if (issuer.revoked_from) id += `; the ${who} revoked this key at ${utc(issuer.revoked_from)}`;
  return id;
}

// The refusal's rows (#refusal-facts), or none of them when the token is no refusal or its
// signature did not verify (then what it says is attacker text: withheld, as for a reference).
function showRefusal(refusal, browser, server, verdict) {
  let r = null, issuer = null;
  if (refusal) {
    if (browser?.r) ({ r, issuer } = { r: browser.r, issuer: browser.issuer ?? null });
    else if (!(browser && (browser.verdict === "bad_signature" || browser.verdict === "malformed")) && server?.claims) {
      r = server.claims;
      issuer = server.issuer?.email ? { email: server.issuer.email, name: server.issuer.name, since: server.issuer.since, revoked_from: null } : null;
    }
  }
  $("refusal-facts").hidden = !r;
  $("refusal-note").hidden = verdict !== "refused";
  for (const id of ["refusal-referee", "refusal-subject", "refusal-purpose", "refusal-validity", "refusal-identity", "refusal-kind"]) setRow(id, "");
  if (!refusal) return;
  if (r) {
    setText("facts-withheld", ""); $("facts-withheld").hidden = true;
    setNote("facts-note", issuer ? "" : REFUSAL_UNCONFIRMED);
    setRow("refusal-referee", issuer ? (issuer.name || r.iss_name) : `Unconfirmed: the refusal says it is from “${r.iss_name}”`);
    setRow("refusal-subject", r.sub.name + [r.sub.email, r.sub.handle].filter((x) => x !== undefined && x !== null).map((x) => ` (${x})`).join(""));
    setRow("refusal-purpose", r.purpose ?? "Every purpose");
    setRow("refusal-validity", `${utc(r.iat)} to ${utc(r.exp)}`);
    setRow("refusal-identity", issuer ? identityText(issuer, "referee") : "Not linked to a verified identity: who signed this refusal is unknown.");
    setRow("refusal-kind", r.req === undefined ? "Made in advance, for anyone who asks" : "An answer to a request made through this registry");
  }
}

// --- the requester's page: /r#<reference-request token>~<answer token> --------------------

const REQUEST_LINK_ERROR = "This link is damaged: a request link holds the request after /r# and, once answered, “~” and the answer. Open the link again from where you got it.";
const REQUEST_FORGED = "This request was not signed by this registry, or it was altered after signing: nothing in it is shown. Do not rely on it.";
const NO_BROWSER_CHECK = "Your browser cannot check signatures, so this page cannot show the request: open the link in a current browser.";

function showRequest(q) {
  const by = q.by;
  const how = by.method === "key-binding" ? "e-mail address confirmed by this registry, and the request signed with their registered key" : "e-mail address confirmed by this registry with a code";
  setRow("requester", `${by.email}, ${how}`);
  setRow("requester-name", by.name ?? "");
  setRow("referee", q.referee);
  setRow("claimed-subject", q.sub.name + [q.sub.email, q.sub.handle].filter((x) => x !== undefined).map((x) => ` (${x})`).join(""));
  let rel = `${q.rel.role} · ${q.rel.context}`;
  if (q.rel.org !== undefined) rel += ` · ${q.rel.org}`;
  if (q.rel.from !== undefined || q.rel.to !== undefined) rel += ` · ${q.rel.from ?? "…"} to ${q.rel.to ?? "…"}`;
  setRow("claimed-relationship", rel);
  setRow("claimed-purpose", q.purpose);
  setRow("claimed-audience", q.aud ?? "");
  setRow("asked-at", utc(q.iat));
  setRow("deadline", utc(q.exp));
  $("request-facts").hidden = false;
  $("request-claimed-note").hidden = false;
}

// The answer's state in words: answered, or no answer (yet, or by the deadline) — never a refusal.
function requestState(q, answered, now) {
  if (answered) return ["answered", "Answered: the answer is below."];
  if (now < q.exp) return ["open", `No answer yet: the referee has until ${utc(q.exp)}.`];
  return ["expired", `No answer by the deadline (${utc(q.exp)}): the referee did not answer, which says nothing about the candidate.`];
}

async function checkPolicyAnswer(token, pin) {
  const box = $("policy-answer");
  const checks = $("policy-checks");
  checks.replaceChildren();
  const item = (check, passed, t) => {
    const li = document.createElement("li");
    li.textContent = t; li.dataset.check = check; li.dataset.passed = String(passed);
    checks.append(li);
  };
  let verdict = "policy", p = null, signer = null;
  try {
    const parsed = parseToken(token, "policy");
    checkPolicy(parsed.value);
    p = parsed.value;
    await verifySignature(parsed, didKeyBytes(p.iss, "policy.iss"));
    item("browser-signature", true, "Signature checked by your browser: genuine");
    signer = await boundSigner(p.iss, pin, () => postJson("/api/v1/statements", { token }));
    if (!signer) verdict = "unknown_issuer";
    else if (signer.revoked_from !== null) verdict = "issuer_key_revoked";
    else item("browser-issuer", true, "Referee's identity checked by your browser: this registry's signed confirmation is genuine");
  } catch (e) {
    if (e instanceof Malformed) verdict = "malformed";
    else if (e instanceof BadSignature) verdict = "bad_signature";
    else {
      verdict = "status_unavailable";
      item("registry", false, `The registry's facts could not be fetched or checked: ${e.message}`);
    }
  }
  const genuine = verdict === "policy";
  box.dataset.verdict = verdict;
  // No reference either way: a genuine policy is not a failure of the candidate's, but it is
  // no reference, and the mark says so with its text alternative.
  $("policy-mark").setAttribute("aria-label", genuine ? "No reference: a signed policy" : "Not genuine");
  const sentences = {
    policy: POLICY_SENTENCE,
    unknown_issuer: "This answer is signed with a key that is not linked to a verified person: who made it is unknown.",
    issuer_key_revoked: "The key that signed this answer was revoked: it cannot be relied on.",
    malformed: "This answer is not a readable policy; it may be damaged, incomplete or forged.",
    bad_signature: "This answer was not signed by the person it names, or it was altered: do not rely on it.",
    status_unavailable: "This answer could not be checked: try again later.",
  };
  setText("policy-sentence", sentences[verdict]);
  $("policy-facts").hidden = !genuine;
  setRow("policy-referee", genuine ? (signer.name || p.iss_name) : "");
  setRow("policy-identity", genuine ? identityText(signer, "referee") : "");
  setRow("policy-since", genuine ? utc(p.iat) : "");
  box.hidden = false;
}

async function requestPage() {
  const section = $("request");
  const raw = location.hash.slice(1);
  const parts = raw.split("~");
  const shaped = (t) => /^[a-z0-9-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(t);
  if (!raw || parts.length > 2 || !shaped(parts[0]) || (parts[1] && !shaped(parts[1]))) {
    showInputError(raw ? REQUEST_LINK_ERROR : "This link holds no request. Open the full link you were given.");
    return;
  }
  const [requestToken, answerToken = ""] = parts;
  section.dataset.state = "checking";
  section.setAttribute("aria-busy", "true");
  const finish = () => { section.removeAttribute("aria-busy"); section.dataset.state = "done"; };
  section.hidden = false;
  let pin = null;
  try { pin = await registryPin(); } catch (e) {
    showInputError(e.message === BUSY ? BUSY_PAGE : "This registry's key could not be fetched: try again later.");
    section.hidden = true;
    return finish();
  }
  const supported = await ed25519Supported();
  if (!supported) {
    section.dataset.request = "unsupported";
    setNote("request-check", NO_BROWSER_CHECK);
    return finish();
  }
  let q;
  try {
    const parsed = parseToken(requestToken, "reference-request");
    checkReferenceRequest(parsed.value, pin.R);
    await verifySignature(parsed, pin.key);
    q = parsed.value;
  } catch (e) {
    if (!(e instanceof Malformed || e instanceof BadSignature)) throw e;
    section.dataset.request = e instanceof Malformed ? "malformed" : "bad_signature";
    $("request-mark").textContent = "✗";
    $("request-mark").setAttribute("aria-label", "Not genuine");
    $("request-mark").hidden = false;
    setNote("request-check", REQUEST_FORGED);
    $("request-check").dataset.detail = e.message;
    return finish();
  }
  section.dataset.request = "genuine";
  $("request-mark").textContent = "✓";
  $("request-mark").setAttribute("aria-label", "Genuine request");
  $("request-mark").hidden = false;
  setNote("request-check", "Request checked by your browser: signed by this registry. It proves who asked and what they claimed, not that the claim is true.");
  const now = registryNow(pin);
  showRequest(q);
  const [state, words] = requestState(q, !!answerToken, now);
  section.dataset.answer = state;
  setText("request-state", words);
  const answer = $("answer");
  const kind = tokenKind(answerToken);
  answer.dataset.kind = answerToken ? (kind || "unknown") : "none";
  if (!answerToken) return finish();
  answer.hidden = false;
  if (kind === "policy") {
    await checkPolicyAnswer(answerToken, pin);
  } else {
    // An endorsement or a refusal: the usual check, with the request's expectations.
    const subject = q.sub.email ?? q.sub.handle ?? q.sub.name;
    await check(answerToken, { subject, purpose: q.purpose, audience: q.aud ?? null });
    // Which request a refusal answers, once its signature is known to be good (else its
    // members are withheld, this one too).
    const signed = !["bad_signature", "malformed", "unsupported"].includes($("result").dataset.browserVerdict);
    const req = kind === "refusal" && signed ? tokenPayloadMember(answerToken, "req") : undefined;
    setNote("answer-note", req !== undefined && req !== q.id ? "This refusal answers another request, not this one." : "");
  }
  finish();
}

// One member of a token's payload read without trusting it (for a note, never a verdict).
function tokenPayloadMember(token, name) {
  try {
    const payload = JSON.parse(new TextDecoder().decode(b64urlDecode(token.split(".")[1] ?? "", "payload")));
    return payload && typeof payload === "object" ? payload[name] : undefined;
  } catch (e) {
    return undefined;
  }
}


function main() {
  copyReceipt();
  if ($("request")) { requestPage(); return; }
  if ($("check-form")) { fromForm(); return; }
  if ($("short-note")) { if (!$("input-error") || $("input-error").hidden) shortLinkPage(); return; }
  let raw = null;
  // Tokens are URL-safe text: what the address bar holds is used as it is (a token that a
  // browser had to percent-encode is not a token, and is reported as malformed).
  const refused = $("input-error");
  if (location.hash.length > 1) raw = location.hash.slice(1);
  else if (refused && !refused.hidden) return; // the registry refused the path: its words stand
  else if (location.pathname.startsWith("/v/")) raw = location.pathname.slice(3);
  if (raw === null) {
    if (location.pathname === "/v") showInputError("This link holds no reference. Open the full link you were given, or paste it on the check page.");
    return;
  }
  let token;
  try {
    token = tokenFromInput(raw).token;
    if (token === null) throw new InputError(NOT_A_REFERENCE);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    showInputError(e.message);
    return;
  }
  $("loading")?.removeAttribute("hidden");
  check(token, { subject: null, purpose: null }).then(() => askAudience(token));
}

// /s#<id>: the token comes from the registry, by POST (spec §11.6).
function shortLinkPage() {
  const id = location.hash.slice(1);
  if (!id) { showInputError("This short link holds no id. Open the full link you were given."); return; }
  if (!PASTE_SHORT_ID.test(id)) { showInputError("This short link is damaged: its id is 22 letters, digits, - and _ after /s#. Ask whoever sent it for the link again."); return; }
  $("loading")?.removeAttribute("hidden");
  resolveShortLink(id).then((token) => {
    setText("short-note", SHORT_LINK_NOTE);
    $("short-note").hidden = false;
    return check(token, { subject: null, purpose: null }).then(() => askAudience(token));
  }, (e) => {
    if (!(e instanceof InputError)) throw e;
    $("loading")?.setAttribute("hidden", "");
    showInputError(e.message);
  });
}

// A reference given for a named recipient (its aud) is valid only for them (spec §6.3 step
// 8d): the link alone cannot say who opened it, so the recruiter says who they are and the
// reference is checked again with that audience, the QR code too.
function askAudience(token) {
  const form = $("audience-form");
  if (!form || typeof tokenPayloadMember(token, "aud") !== "string") return;
  form.hidden = false;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const button = $("audience-button");
    if (button.disabled) return;
    const audience = $("audience").value.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
    if (!audience) { showInputError("Type who you are as the endorser wrote it, e.g. your e-mail address."); $("audience").focus(); return; }
    if (audience.length > 256) { showInputError("Who you are (the recipient) may have at most 256 characters."); return; }
    showInputError("");
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    check(token, { subject: null, purpose: null, audience }).finally(() => {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }).then(() => $("result").focus());
  });
}

main();
