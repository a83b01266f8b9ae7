/**
 * Decoding of a JWT security scheme's static `source` (Tyk OAS
 * `x-tyk-api-gateway.server.authentication.securitySchemes.<name>.source`).
 *
 * Tyk stores the key base64-encoded. Decoded, `source` is one of:
 *
 * - a PEM public key: `PUBLIC KEY` (SPKI), `RSA PUBLIC KEY` (PKCS#1) or `CERTIFICATE` (X.509; its
 *   subject public key is used, the certificate's own validity is not checked);
 * - a JWKS URL (`http://` or `https://`), Tyk's single-endpoint form of `jwksURIs`;
 * - anything else: an HMAC shared secret (the decoded bytes).
 *
 * A raw (not base64) PEM or URL is accepted too. A private key is refused. The key family is read
 * from the SPKI's algorithm identifier here, synchronously, so that a verifier knows at creation
 * which algorithms a key can verify and a public key can never be mistaken for an HMAC secret.
 *
 * Pure: Web APIs only (`atob`, `btoa`, `TextDecoder`-free byte handling).
 */

/** The family of a public key, and the JWS algorithms it can verify. */
export type KeyFamily = "rsa" | "ec" | "ed25519";

export type DecodedSource =
  | { kind: "secret"; secret: Uint8Array }
  | { kind: "public"; family: KeyFamily; algorithms: string[]; spkiPem: string }
  | { kind: "jwks"; url: string };

/** Decodes `source`; throws an `Error` with a readable reason when it is unusable. */
export function decodeSource(source: string): DecodedSource {
  const raw = source.trim();
  if (raw === "") throw new Error("source is empty");
  if (raw.startsWith("-----BEGIN")) return publicKeyFromPem(raw);
  if (/^https?:\/\//i.test(raw)) return { kind: "jwks", url: raw };
  const bytes = decodeBase64(raw);
  if (bytes === undefined) throw new Error("source must be base64: of a PEM public key, of a JWKS URL or of an HMAC secret");
  const text = latin1(bytes).trim();
  if (text.startsWith("-----BEGIN")) return publicKeyFromPem(text);
  if (/^https?:\/\/\S+$/i.test(text)) return { kind: "jwks", url: text };
  if (bytes.length === 0) throw new Error("source decodes to an empty secret");
  return { kind: "secret", secret: bytes };
}

function publicKeyFromPem(pem: string): DecodedSource {
  const match = /^-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (!match) throw new Error("source holds a malformed PEM block");
  const [, label, body] = match as unknown as [string, string, string];
  if (label.includes("PRIVATE")) throw new Error("source holds a private key: configure the public key only");
  const der = decodeBase64(body);
  if (der === undefined) throw new Error("source holds a PEM block whose body is not base64");
  let spki: Uint8Array;
  try {
    if (label === "PUBLIC KEY") spki = der;
    else if (label === "RSA PUBLIC KEY") spki = rsaPkcs1ToSpki(der);
    else if (label === "CERTIFICATE") spki = spkiOfCertificate(der);
    else throw new Error(`unsupported PEM type "${label}"`);
    const { family, algorithms } = classify(spki);
    return { kind: "public", family, algorithms, spkiPem: toPem(spki) };
  } catch (cause) {
    throw new Error(`source holds an unusable public key: ${(cause as Error).message}`, { cause });
  }
}

// --- Minimal DER reading: just enough to find a key's algorithm. ---

interface Tlv {
  tag: number;
  /** Offset of the whole element. */
  at: number;
  /** Offset of the contents. */
  start: number;
  /** Offset after the contents. */
  end: number;
}

function readTlv(der: Uint8Array, at: number, limit = der.length): Tlv {
  if (at + 2 > limit) throw new Error("truncated DER");
  const tag = der[at]!;
  let length = der[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || start + count > limit) throw new Error("bad DER length");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i]!;
    start += count;
  }
  const end = start + length;
  if (end > limit) throw new Error("truncated DER");
  return { tag, at, start, end };
}

function childrenOf(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const child = readTlv(der, at, parent.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

function expectSequence(tlv: Tlv | undefined, what: string): Tlv {
  if (tlv?.tag !== 0x30) throw new Error(`expected ${what}`);
  return tlv;
}

const hex = (der: Uint8Array, tlv: Tlv) => Array.from(der.subarray(tlv.start, tlv.end), (b) => b.toString(16).padStart(2, "0")).join("");

const OID_RSA = "2a864886f70d010101";
const OID_RSA_PSS = "2a864886f70d01010a";
const OID_EC = "2a8648ce3d0201";
const OID_ED25519 = "2b6570";
const EC_CURVES: Record<string, string> = { "2a8648ce3d030107": "ES256", "2b81040022": "ES384", "2b81040023": "ES512" };

/** The key family and algorithms of an SPKI (`SEQUENCE { AlgorithmIdentifier, BIT STRING }`). */
function classify(spki: Uint8Array): { family: KeyFamily; algorithms: string[] } {
  const top = expectSequence(readTlv(spki, 0), "an SPKI structure");
  if (top.end !== spki.length) throw new Error("trailing bytes after the SPKI structure");
  const [algId, bits] = childrenOf(spki, top);
  if (bits?.tag !== 0x03) throw new Error("expected the SPKI key bits");
  const [oid, params] = childrenOf(spki, expectSequence(algId, "an algorithm identifier"));
  if (oid?.tag !== 0x06) throw new Error("expected an algorithm OID");
  switch (hex(spki, oid)) {
    case OID_RSA:
      if (rsaModulusBits(spki, bits) < 2048) throw new Error("RSA keys must have at least 2048 bits");
      return { family: "rsa", algorithms: ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"] };
    case OID_EC: {
      const alg = params?.tag === 0x06 ? EC_CURVES[hex(spki, params)] : undefined;
      if (!alg) throw new Error("unsupported elliptic curve (P-256, P-384 and P-521 are supported)");
      return { family: "ec", algorithms: [alg] };
    }
    case OID_ED25519:
      return { family: "ed25519", algorithms: ["EdDSA", "Ed25519"] };
    case OID_RSA_PSS:
      throw new Error("RSASSA-PSS-only keys are not supported: use an rsaEncryption key (it verifies PS256/384/512 too)");
    default:
      throw new Error("unsupported key algorithm (RSA, EC P-256/384/521 and Ed25519 are supported)");
  }
}

/** The size of an RSA modulus, from the SPKI key bits (`RSAPublicKey ::= SEQUENCE { n, e }`). */
function rsaModulusBits(der: Uint8Array, bits: Tlv): number {
  const key = expectSequence(readTlv(der, bits.start + 1, bits.end), "an RSA public key");
  const n = childrenOf(der, key)[0];
  if (n?.tag !== 0x02) throw new Error("expected the RSA modulus");
  let start = n.start;
  while (start < n.end && der[start] === 0) start++;
  return start === n.end ? 0 : (n.end - start - 1) * 8 + (32 - Math.clz32(der[start]!));
}

/** The SPKI of an X.509 certificate: the 7th element of `tbsCertificate` (6th without `[0] version`). */
function spkiOfCertificate(der: Uint8Array): Uint8Array {
  const cert = expectSequence(readTlv(der, 0), "a certificate");
  const tbs = expectSequence(childrenOf(der, cert)[0], "a tbsCertificate");
  const fields = childrenOf(der, tbs);
  const skip = fields[0]?.tag === 0xa0 ? 1 : 0;
  const spki = expectSequence(fields[skip + 5], "the certificate's subject public key");
  return der.subarray(spki.at, spki.end);
}

/** Wraps a PKCS#1 `RSAPublicKey` into an SPKI with the rsaEncryption algorithm identifier. */
function rsaPkcs1ToSpki(pkcs1: Uint8Array): Uint8Array {
  expectSequence(readTlv(pkcs1, 0), "an RSA public key");
  const algId = Uint8Array.from([0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00]);
  const bits = derElement(0x03, concat(Uint8Array.of(0), pkcs1));
  return derElement(0x30, concat(algId, bits));
}

function derElement(tag: number, contents: Uint8Array): Uint8Array {
  const n = contents.length;
  const length =
    n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return concat(Uint8Array.from([tag, ...length]), contents);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

// --- Base64 and PEM. ---

/** Strict standard base64 (whitespace ignored, padding optional, base64url tolerated), or undefined. */
function decodeBase64(text: string): Uint8Array | undefined {
  const compact = text.replace(/\s+/g, "").replace(/-/g, "+").replace(/_/g, "/");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.replace(/=+$/, "").length % 4 === 1) return undefined;
  try {
    const binary = atob(compact);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}

function latin1(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += String.fromCharCode(byte);
  return out;
}

function toPem(der: Uint8Array): string {
  const body = btoa(latin1(der)).replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN PUBLIC KEY-----\n${body}-----END PUBLIC KEY-----\n`;
}
