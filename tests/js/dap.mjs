// Test-only DAP-09 aggregator keys and the client-side checks of an upload, in Node: two
// X25519 key pairs made fresh for each run (nothing secret is checked in), their
// HpkeConfigLists as aggregators serve them, the upload's `Report` framing, and HPKE
// (RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-128-GCM) opening of
// each input share with its aggregator's private key — written from the RFC, independently
// of the Rust code that seals (report/src/lib.rs), so the two check each other.
import { createDecipheriv, createHmac, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes } from 'node:crypto';

const KEM = 0x0020;
const KDF = 0x0001;
const AEAD = 0x0001;

/** A test aggregator: config id, X25519 key pair, and its `HpkeConfigList` bytes. */
export function testAggregator(configId) {
  const { privateKey } = generateKeyPairSync('x25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const publicKey = Buffer.from(jwk.x, 'base64url');
  const config = Buffer.concat([Buffer.from([configId]), u16(KEM), u16(KDF), u16(AEAD), u16(publicKey.length), publicKey]);
  return { configId, jwk, publicKey, configList: Buffer.concat([u16(config.length), config]) };
}

/** A random DAP task id as aggregators show it (32 bytes, unpadded base64url). */
export function testTaskId() {
  return randomBytes(32).toString('base64url');
}

function u16(n) {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** Reads a DAP-09 `Report`; throws on a framing error. */
export function parseReport(bytes) {
  const buf = Buffer.from(bytes);
  let at = 0;
  const take = (n, what) => {
    if (at + n > buf.length) throw new Error(`report ends inside ${what}`);
    const out = buf.subarray(at, at + n);
    at += n;
    return out;
  };
  const reportId = take(16, 'report_id');
  const time = take(8, 'time').readBigUInt64BE();
  const publicShare = take(take(4, 'public_share length').readUInt32BE(), 'public_share');
  const ciphertext = (who) => ({
    configId: take(1, `${who} config_id`)[0],
    enc: take(take(2, `${who} enc length`).readUInt16BE(), `${who} enc`),
    payload: take(take(4, `${who} payload length`).readUInt32BE(), `${who} payload`),
  });
  const leader = ciphertext('leader');
  const helper = ciphertext('helper');
  if (at !== buf.length) throw new Error(`${buf.length - at} bytes after the report`);
  return { reportId, time, publicShare, leader, helper };
}

const hmac = (key, data) => createHmac('sha256', key).update(data).digest();
const extract = (salt, ikm) => hmac(salt.length ? salt : Buffer.alloc(32), ikm);
function expand(prk, info, length) {
  let t = Buffer.alloc(0);
  const out = [];
  for (let i = 1; Buffer.concat(out).length < length; i += 1) {
    t = hmac(prk, Buffer.concat([t, info, Buffer.from([i])]));
    out.push(t);
  }
  return Buffer.concat(out).subarray(0, length);
}
const HPKE_V1 = Buffer.from('HPKE-v1');
const labeledExtract = (suite, salt, label, ikm) => extract(salt, Buffer.concat([HPKE_V1, suite, Buffer.from(label), ikm]));
const labeledExpand = (suite, prk, label, info, length) => expand(prk, Buffer.concat([u16(length), HPKE_V1, suite, Buffer.from(label), info]), length);

/** HPKE base-mode single-shot open (RFC 9180 §5.1, §6.1); throws when the ciphertext does not open. */
function hpkeOpen(aggregator, enc, info, aad, ciphertext) {
  const kemSuite = Buffer.concat([Buffer.from('KEM'), u16(KEM)]);
  const dh = diffieHellman({
    privateKey: createPrivateKey({ key: aggregator.jwk, format: 'jwk' }),
    publicKey: createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(enc).toString('base64url') }, format: 'jwk' }),
  });
  const eaePrk = labeledExtract(kemSuite, Buffer.alloc(0), 'eae_prk', dh);
  const sharedSecret = labeledExpand(kemSuite, eaePrk, 'shared_secret', Buffer.concat([enc, aggregator.publicKey]), 32);
  const suite = Buffer.concat([Buffer.from('HPKE'), u16(KEM), u16(KDF), u16(AEAD)]);
  const pskIdHash = labeledExtract(suite, Buffer.alloc(0), 'psk_id_hash', Buffer.alloc(0));
  const infoHash = labeledExtract(suite, Buffer.alloc(0), 'info_hash', info);
  const context = Buffer.concat([Buffer.from([0]), pskIdHash, infoHash]);
  const secret = labeledExtract(suite, sharedSecret, 'secret', Buffer.alloc(0));
  const key = labeledExpand(suite, secret, 'key', context, 16);
  const nonce = labeledExpand(suite, secret, 'base_nonce', context, 12);
  const decipher = createDecipheriv('aes-128-gcm', key, nonce);
  decipher.setAAD(aad);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  return Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
}

/**
 * Opens one input share of `report` (from parseReport) as the aggregator in `role` ('leader'
 * or 'helper') would: DAP-09's `info` names the recipient, the AAD binds task, report id, time
 * and public share. Returns the VDAF input share (the PlaintextInputShare's payload).
 */
export function openShare(report, role, aggregator, taskId) {
  const info = Buffer.concat([Buffer.from('dap-09 input share'), Buffer.from([1, role === 'leader' ? 2 : 3])]);
  const time = Buffer.alloc(8);
  time.writeBigUInt64BE(report.time);
  const publicShareLength = Buffer.alloc(4);
  publicShareLength.writeUInt32BE(report.publicShare.length);
  const aad = Buffer.concat([Buffer.from(taskId, 'base64url'), report.reportId, time, publicShareLength, report.publicShare]);
  const sealed = report[role];
  const plaintext = hpkeOpen(aggregator, sealed.enc, info, aad, sealed.payload);
  const extensions = plaintext.readUInt16BE(0);
  const length = plaintext.readUInt32BE(2 + extensions);
  if (6 + extensions + length !== plaintext.length) throw new Error('not a PlaintextInputShare');
  return { extensions, payload: plaintext.subarray(6 + extensions) };
}
