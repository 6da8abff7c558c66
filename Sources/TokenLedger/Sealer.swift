import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Seals secrets and tokens with AES-GCM before they reach the log, and opens them again.
///
/// Keys carry ids so that they can rotate: new values are sealed with the current key, any
/// known key opens old ones. The stream id is bound as associated data, so a sealed value copied
/// to another stream does not open there.
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

    /// Seals `plaintext` for `stream` with the current key.
    public func seal(_ plaintext: String, for stream: StreamID) throws(LedgerError) -> SealedValue {
        guard let keyBytes = keys[currentKeyID] else {
            throw LedgerError(.invalidInput, "no current secrets key")
        }
        do {
            let box = try AES.GCM.seal(Data(plaintext.utf8), using: SymmetricKey(data: keyBytes), authenticating: Data(stream.description.utf8))
            guard let combined = box.combined else {
                throw LedgerError(.invalidInput, "AES-GCM produced no combined form")
            }
            return SealedValue(text: "v1.\(currentKeyID).\(combined.base64EncodedString())")
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.invalidInput, "cannot seal a value")
        }
    }

    /// Opens a value sealed for `stream` with any known key.
    public func open(_ sealed: SealedValue, for stream: StreamID) throws(LedgerError) -> String {
        let parts = sealed.text.split(separator: ".", maxSplits: 2)
        guard parts.count == 3, parts[0] == "v1", let data = Data(base64Encoded: String(parts[2])) else {
            throw LedgerError(.corruptEvent, "a sealed value of \(stream) is not in the v1 form")
        }
        guard let keyBytes = keys[String(parts[1])] else {
            throw LedgerError(.corruptEvent, "a value of \(stream) is sealed with unknown key '\(parts[1])'")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: data)
            let plain = try AES.GCM.open(box, using: SymmetricKey(data: keyBytes), authenticating: Data(stream.description.utf8))
            return String(decoding: plain, as: UTF8.self)
        } catch {
            throw LedgerError(.corruptEvent, "a sealed value of \(stream) does not open with key '\(parts[1])'")
        }
    }
}
