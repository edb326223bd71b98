// An MLS peer backed by ts-mls (a TypeScript RFC 9420 implementation), for Enseal's interop tests.
//
// It speaks JSON lines on stdin/stdout: one request {"op": ..., ...} per line, one reply
// {"ok": true, ...} or {"ok": false, "error": "..."} per line. Byte strings travel as hex and are
// always whole MLSMessages (RFC 9420 section 6), exactly what crosses the wire between clients.
// This file is test tooling: it drives ts-mls, it implements nothing of MLS itself.

import { createInterface } from "node:readline";
import {
  acceptAll,
  branchGroup,
  createApplicationMessage,
  createCommit,
  createGroup,
  createGroupInfoWithExternalPubAndRatchetTree,
  createProposal,
  decodeMlsMessage,
  defaultCapabilities,
  emptyPskIndex,
  encodeMlsMessage,
  generateKeyPackage,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup,
  joinGroupExternal,
  joinGroupFromBranch,
  makePskIndex,
  mlsExporter,
  processMessage,
} from "ts-mls";
import { ciphersuites } from "ts-mls/crypto/ciphersuite.js";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { encode as encodeWith } from "ts-mls/codec/tlsEncoder.js";
import { createGroupInfo } from "ts-mls/createCommit.js";
import { ratchetTreeEncoder } from "ts-mls/ratchetTree.js";

// ts-mls 1.6.4 publishes ECDSA signature keys as compressed points, but RFC 9420 section 5.1.1
// says "the public key is represented as an encoded UncompressedPointRepresentation struct".
// With {"conformant": true} (the default) the peer re-encodes its keys uncompressed, so the
// rest of ts-mls can be tested against Enseal; with false it behaves as shipped (both deviations).
const ECDSA_CURVES = { P256: p256, P384: p384, P521: p521 };

function withUncompressedKeys(cs) {
  const curve = ECDSA_CURVES[cs.name.split("_").at(-1)];
  if (curve === undefined) return cs;
  const keygen = cs.signature.keygen.bind(cs.signature);
  const signature = {
    ...cs.signature,
    sign: cs.signature.sign.bind(cs.signature),
    verify: cs.signature.verify.bind(cs.signature),
    async keygen() {
      const { signKey } = await keygen();
      return { signKey, publicKey: curve.getPublicKey(signKey, false) };
    },
  };
  return { ...cs, signature };
}

// ts-mls 1.6.4 also writes (and reads) the external_pub extension's data as the bare HPKE key,
// but RFC 9420 section 12.4.3.2 defines it as "struct { HPKEPublicKey external_pub; } ExternalPub"
// with "opaque HPKEPublicKey<V>", i.e. the key behind a variable-length-integer length.
// Conformant mode writes the struct, and reads a key given as that struct.
function lengthPrefixed(bytes) {
  const n = bytes.length;
  if (n < 64) return new Uint8Array([n, ...bytes]);
  if (n < 16384) return new Uint8Array([0x40 | (n >> 8), n & 0xff, ...bytes]);
  throw new Error("key too long");
}

function withoutLengthPrefix(bytes) {
  if (bytes.length === 0) return bytes;
  const size = 1 << (bytes[0] >> 6);
  if (size > 2 || bytes.length < size) return bytes;
  const length = size === 1 ? bytes[0] & 0x3f : ((bytes[0] & 0x3f) << 8) | bytes[1];
  return length === bytes.length - size ? bytes.subarray(size) : bytes;
}

function readingExternalPubStructs(cs, publicKeySize) {
  const importPublicKey = cs.hpke.importPublicKey.bind(cs.hpke);
  const hpke = Object.create(cs.hpke);
  hpke.importPublicKey = async (k) => importPublicKey(k.length === publicKeySize ? k : withoutLengthPrefix(k));
  return { ...cs, hpke };
}

async function conformantGroupInfo() {
  const externalKeyPair = await impl.hpke.deriveKeyPair(state.keySchedule.externalSecret);
  const externalPub = await impl.hpke.exportPublicKey(externalKeyPair.publicKey);
  return createGroupInfo(state.groupContext, state.confirmationTag, state, [
    { extensionType: "external_pub", extensionData: lengthPrefixed(externalPub) },
    { extensionType: "ratchet_tree", extensionData: encodeWith(ratchetTreeEncoder)(state.ratchetTree) },
  ], impl);
}

const WEEK = 7n * 24n * 3600n;
let impl = null;
let suiteName = null;
let state = null;
let keyPackage = null; // {publicPackage, privatePackage} of the last generated KeyPackage
let conformant = true; // see withUncompressedKeys and conformantGroupInfo

const hex = (bytes) => Buffer.from(bytes).toString("hex");
const unhex = (text) => new Uint8Array(Buffer.from(text, "hex"));
const encode = (message) => hex(encodeMlsMessage({ version: "mls10", ...message }));

function decode(text, wireformat) {
  const decoded = decodeMlsMessage(unhex(text), 0);
  if (decoded === undefined) throw new Error("ts-mls could not decode the MLSMessage");
  const [message] = decoded;
  if (wireformat !== undefined && !wireformat.includes(message.wireformat)) {
    throw new Error(`expected ${wireformat}, got ${message.wireformat}`);
  }
  return message;
}

function credential(identity) {
  return { credentialType: "basic", identity: new TextEncoder().encode(identity) };
}

async function newKeyPackage(identity) {
  const now = BigInt(Math.floor(Date.now() / 1000));
  const lifetime = { notBefore: now - 3600n, notAfter: now + 12n * WEEK - 3600n };
  keyPackage = await generateKeyPackage(credential(identity), defaultCapabilities(), lifetime, [], impl);
  return keyPackage;
}

function summary() {
  return {
    epoch: Number(state.groupContext.epoch),
    epoch_authenticator: hex(state.keySchedule.epochAuthenticator),
    tree_hash: hex(state.groupContext.treeHash),
    own_leaf: state.privatePath.leafIndex,
    members: state.ratchetTree.filter((node) => node !== undefined && node.nodeType === "leaf").length,
  };
}

function commitReply(result) {
  state = result.newState;
  const reply = { commit: encode({ wireformat: result.commit.wireformat, ...commitBody(result.commit) }) };
  if (result.welcome !== undefined) reply.welcome = encode({ wireformat: "mls_welcome", welcome: result.welcome });
  return { ...reply, ...summary() };
}

function commitBody(message) {
  return message.wireformat === "mls_public_message"
    ? { publicMessage: message.publicMessage }
    : { privateMessage: message.privateMessage };
}

function proposalFor(spec) {
  switch (spec.type) {
    case "add":
      return { proposalType: "add", add: { keyPackage: decode(spec.key_package, ["mls_key_package"]).keyPackage } };
    case "remove":
      return { proposalType: "remove", remove: { removed: spec.leaf } };
    default:
      throw new Error(`unknown proposal type ${spec.type}`);
  }
}

const ops = {
  async init({ suite, conformant: asked = true }) {
    suiteName = Object.keys(ciphersuites).find((name) => ciphersuites[name] === suite);
    if (suiteName === undefined) throw new Error(`ts-mls does not know suite ${suite}`);
    impl = await getCiphersuiteImpl(getCiphersuiteFromName(suiteName));
    conformant = asked;
    if (conformant) impl = withUncompressedKeys(impl);
    return { suite: suiteName };
  },
  async key_package({ identity }) {
    const kp = await newKeyPackage(identity);
    return { key_package: encode({ wireformat: "mls_key_package", keyPackage: kp.publicPackage }) };
  },
  async create({ group_id, identity }) {
    const kp = await newKeyPackage(identity);
    state = await createGroup(unhex(group_id), kp.publicPackage, kp.privatePackage, [], impl);
    return summary();
  },
  async commit({ proposals = [], public_message = true }) {
    const result = await createCommit(
      { state, cipherSuite: impl },
      { extraProposals: proposals.map(proposalFor), ratchetTreeExtension: true, wireAsPublicMessage: public_message },
    );
    return commitReply(result);
  },
  async propose({ proposal, public_message = true }) {
    const result = await createProposal(state, public_message, proposalFor(proposal), impl);
    state = result.newState;
    const message = result.message;
    return { proposal: encode({ wireformat: message.wireformat, ...commitBody(message) }) };
  },
  async join({ welcome }) {
    const message = decode(welcome, ["mls_welcome"]);
    state = await joinGroup(message.welcome, keyPackage.publicPackage, keyPackage.privatePackage, emptyPskIndex, impl);
    return summary();
  },
  async branch({ group_id, key_packages, identity }) {
    const kp = await newKeyPackage(identity);
    const members = key_packages.map((text) => decode(text, ["mls_key_package"]).keyPackage);
    const result = await branchGroup(state, kp.publicPackage, kp.privatePackage, members, unhex(group_id), impl);
    // ts-mls's branch Welcome carries no ratchet_tree extension: the tree goes alongside (section 12.4.3.3).
    return { ...commitReply(result), ratchet_tree: hex(encodeWith(ratchetTreeEncoder)(state.ratchetTree)) };
  },
  async join_branch({ welcome }) {
    const message = decode(welcome, ["mls_welcome"]);
    state = await joinGroupFromBranch(state, message.welcome, keyPackage.publicPackage, keyPackage.privatePackage,
      undefined, impl);
    return summary();
  },
  async group_info() {
    const info = conformant
      ? await conformantGroupInfo()
      : await createGroupInfoWithExternalPubAndRatchetTree(state, [], impl);
    return { group_info: encode({ wireformat: "mls_group_info", groupInfo: info }) };
  },
  async join_external({ group_info, identity }) {
    const message = decode(group_info, ["mls_group_info"]);
    const kp = await newKeyPackage(identity);
    let cs = impl;
    if (conformant) {
      const ownKey = await impl.hpke.exportPublicKey((await impl.hpke.deriveKeyPair(new Uint8Array(impl.kdf.size))).publicKey);
      cs = readingExternalPubStructs(impl, ownKey.length);
    }
    const result = await joinGroupExternal(message.groupInfo, kp.publicPackage, kp.privatePackage, false, cs);
    state = result.newState;
    return { commit: encode({ wireformat: "mls_public_message", publicMessage: result.publicMessage }), ...summary() };
  },
  async send({ data }) {
    const result = await createApplicationMessage(state, unhex(data), impl);
    state = result.newState;
    return { message: encode({ wireformat: "mls_private_message", privateMessage: result.privateMessage }) };
  },
  async process({ message }) {
    const decoded = decode(message, ["mls_public_message", "mls_private_message"]);
    const result = await processMessage(decoded, state, makePskIndex(state, {}), acceptAll, impl);
    state = result.newState;
    if (result.kind === "applicationMessage") return { kind: "application", data: hex(result.message), ...summary() };
    return { kind: "handshake", ...summary() };
  },
  async export({ label, context, length }) {
    const secret = await mlsExporter(state.keySchedule.exporterSecret, label, unhex(context), length, impl);
    return { secret: hex(secret) };
  },
  async summary() {
    return summary();
  },
};

const lines = createInterface({ input: process.stdin, terminal: false });
for await (const line of lines) {
  if (line.trim() === "") continue;
  let reply;
  try {
    const request = JSON.parse(line);
    const op = ops[request.op];
    if (op === undefined) throw new Error(`unknown op ${request.op}`);
    reply = { ok: true, ...(await op(request)) };
  } catch (error) {
    reply = { ok: false, error: String(error && error.stack ? error.stack : error) };
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
}
