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
    /// Raw key bytes by id (`SymmetricKey` is not `Sendable`; one is built per use, which is cheap).
    private let keys: [String: Data]

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
        let parts = sealed.text.split(separator: ".", maxSplits: 2)
        guard parts.count == 3, let form = SealedValue.Form(rawValue: String(parts[0])), let data = Data(base64Encoded: String(parts[2])) else {
            throw LedgerError(.corruptEvent, "a sealed value of \(stream) is not in a known sealed form")
        }
        guard let keyBytes = keys[String(parts[1])] else {
            throw LedgerError(.corruptEvent, "a value of \(stream) is sealed with unknown key '\(parts[1])'")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: data)
            let plain = try AES.GCM.open(
                box,
                using: SymmetricKey(data: keyBytes),
                authenticating: Self.associatedData(form, stream: stream, field: field)
            )
            return String(decoding: plain, as: UTF8.self)
        } catch {
            throw LedgerError(.corruptEvent, "a sealed value of \(stream) does not open as \(field) with key '\(parts[1])'")
        }
    }

    /// What a value is bound to: `v1`, its stream; `v2`, the field's name, a line feed (which
    /// neither contains, so no two pairs give the same bytes), then the stream.
    private static func associatedData(_ form: SealedValue.Form, stream: StreamID, field: SealedField) -> Data {
        switch form {
        case .streamBound: Data(stream.description.utf8)
        case .bound: Data("\(field.name)\n\(stream.description)".utf8)
        }
    }
}
