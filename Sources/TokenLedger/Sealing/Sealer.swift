import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Seals secrets and tokens with AES-GCM before they reach the log, and opens them again.
///
/// Keys carry ids so that they can rotate: new values are sealed with the current key, any
/// known key opens old ones. The stream id and the event field are bound as associated data, so
/// a sealed value copied to another stream, or to another field (a secret into a token), does not
/// open there.
public struct Sealer: Sendable {
    /// The key id new values are sealed with.
    public let currentKeyID: String
    /// Raw key bytes by id (sealing and derived keys build a `SymmetricKey` per use).
    private let keys: [String: Data]
    /// The same keys, ready to open with.
    private let symmetricKeys: SymmetricKeys

    /// Creates a sealer from base64 keys by id; `current` must be one of them.
    public init(current: String, keys: [String: String]) throws(LedgerError) {
        var decoded: [String: Data] = [:]
        for (id, base64) in keys {
            guard !id.isEmpty, !id.contains("."), let bytes = Data(base64Encoded: base64) else {
                throw LedgerError(.invalidInput, "secrets key '\(id)' is not valid base64")
            }
            guard [16, 24, 32].contains(bytes.count) else {
                throw LedgerError(.invalidInput, "secrets key '\(id)' must be 16, 24 or 32 bytes, is \(bytes.count)")
            }
            decoded[id] = bytes
        }
        guard decoded[current] != nil else {
            throw LedgerError(.invalidInput, "no secrets key with id '\(current)'")
        }
        self.currentKeyID = current
        self.keys = decoded
        self.symmetricKeys = SymmetricKeys(byID: decoded.mapValues { SymmetricKey(data: $0) })
    }

    /// A new random 256-bit key, base64.
    public static func generateKey() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// A 256-bit key for another `purpose` (e.g. signing dashboard sessions), derived from the
    /// current key with HKDF-SHA256: the same on every replica sharing the key and after a
    /// restart, and a different key for each purpose, none of which reveals the sealing key.
    public func derivedKey(for purpose: String) -> [UInt8] {
        let master = SymmetricKey(data: keys[currentKeyID] ?? Data())
        let derived = HKDF<SHA256>.deriveKey(inputKeyMaterial: master, info: Data(purpose.utf8), outputByteCount: 32)
        return derived.withUnsafeBytes { Array($0) }
    }

    /// The ids of every key this sealer opens with, sorted.
    public var keyIDs: [String] { keys.keys.sorted() }

    /// Seals `bytes` (not an event's field: e.g. a snapshot of the memory model) with the key
    /// derived for `purpose` from the current key, bound to `context` as associated data.
    public func seal(bytes: [UInt8], purpose: String, context: [UInt8]) throws(LedgerError) -> [UInt8] {
        do {
            let box = try AES.GCM.seal(bytes, using: SymmetricKey(data: derivedKey(for: purpose)), authenticating: context)
            guard let combined = box.combined else { throw LedgerError(.invalidInput, "AES-GCM produced no combined form") }
            return Array(combined)
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.invalidInput, "cannot seal \(purpose)")
        }
    }

    /// Opens what `seal(bytes:purpose:context:)` sealed with the same current key and `context`.
    public func open(bytes sealed: [UInt8], purpose: String, context: [UInt8]) throws(LedgerError) -> [UInt8] {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return Array(try AES.GCM.open(box, using: SymmetricKey(data: derivedKey(for: purpose)), authenticating: context))
        } catch {
            throw LedgerError(.corruptEvent, "\(purpose) does not open with the key derived from '\(currentKeyID)'")
        }
    }

    /// Seals `plaintext` for `field` of an event of `stream`, with the current key.
    public func seal(_ plaintext: String, for stream: StreamID, as field: SealedField) throws(LedgerError) -> SealedValue {
        guard let keyBytes = keys[currentKeyID] else {
            throw LedgerError(.invalidInput, "no current secrets key")
        }
        do {
            let box = try AES.GCM.seal(
                Data(plaintext.utf8),
                using: SymmetricKey(data: keyBytes),
                authenticating: Self.associatedData(.bound, stream: stream, field: field)
            )
            guard let combined = box.combined else {
                throw LedgerError(.invalidInput, "AES-GCM produced no combined form")
            }
            return SealedValue(text: "\(SealedValue.Form.bound.rawValue).\(currentKeyID).\(combined.base64EncodedString())")
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.invalidInput, "cannot seal a value")
        }
    }

    /// Opens a value sealed for `field` of an event of `stream`, with any known key. A value of
    /// the first form (`v1`, sealed before fields were bound) opens in any field of its stream.
    public func open(_ sealed: SealedValue, for stream: StreamID, as field: SealedField) throws(LedgerError) -> String {
        // `form.key id.base64`, cut without copies: a replay opens every token of the log.
        let text = sealed.text
        guard let first = text.utf8.firstIndex(of: UInt8(ascii: ".")),
            let second = text.utf8[text.utf8.index(after: first)...].firstIndex(of: UInt8(ascii: ".")),
            first > text.startIndex, text.utf8.index(after: first) < second,
            let form = SealedValue.Form(rawValue: String(text[..<first]))
        else {
            throw LedgerError(.corruptEvent, "a sealed value of \(stream) is not in a known sealed form")
        }
        let keyID = String(text[text.utf8.index(after: first)..<second])
        let encoded = text[text.utf8.index(after: second)...]
        guard let combined = Base64.decode(encoded.utf8) ?? Data(base64Encoded: String(encoded)).map(Array.init) else {
            throw LedgerError(.corruptEvent, "a sealed value of \(stream) is not in a known sealed form")
        }
        guard let key = symmetricKeys.byID[keyID] else {
            throw LedgerError(.corruptEvent, "a value of \(stream) is sealed with unknown key '\(keyID)'")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: combined)
            let plain = try AES.GCM.open(box, using: key, authenticating: Self.associatedData(form, stream: stream, field: field))
            return String(decoding: plain, as: UTF8.self)
        } catch {
            throw LedgerError(.corruptEvent, "a sealed value of \(stream) does not open as \(field) with key '\(keyID)'")
        }
    }

    /// What a value is bound to: `v1`, its stream; `v2`, the field's name, a line feed (which
    /// neither contains, so no two pairs give the same bytes), then the stream.
    private static func associatedData(_ form: SealedValue.Form, stream: StreamID, field: SealedField) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(field.name.utf8.count + stream.project.utf8.count + stream.platform.utf8.count + stream.appid.utf8.count + 3)
        if form == .bound {
            bytes.append(contentsOf: field.name.utf8)
            bytes.append(UInt8(ascii: "\n"))
        }
        bytes.append(contentsOf: stream.project.utf8)
        bytes.append(UInt8(ascii: "/"))
        bytes.append(contentsOf: stream.platform.utf8)
        bytes.append(UInt8(ascii: "/"))
        bytes.append(contentsOf: stream.appid.utf8)
        return bytes
    }
}

/// The keys as `SymmetricKey`s, built once (a replay opens every token of the log). Checked
/// `Sendable` by hand: `SymmetricKey` is not declared so, but it is an immutable value (its bytes
/// are never written after it is made), so sharing it between tasks is safe.
private struct SymmetricKeys: @unchecked Sendable {
    let byID: [String: SymmetricKey]
}
