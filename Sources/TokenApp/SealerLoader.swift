import Foundation
import Logging
import TokenLedger

/// Builds the sealer from `secrets.*`; outside production, generates a key once into `secrets.key_file`.
enum SealerLoader {
    static func load(_ secrets: ServerConfiguration.Secrets, environment: ServerConfiguration.Environment, logger: Logger) throws -> Sealer {
        var keys: [String: String] = [:]
        for entry in secrets.previousKeys {
            guard let colon = entry.firstIndex(of: ":") else {
                throw ConfigurationFailure(message: "secrets.previous_keys entries are written id:base64")
            }
            keys[String(entry[..<colon])] = String(entry[entry.index(after: colon)...])
        }
        if let key = secrets.key {
            keys[secrets.keyID] = key
        } else {
            guard environment != .production else {
                throw ConfigurationFailure(message: "secrets.key (SECRETS_KEY) is required in production")
            }
            keys[secrets.keyID] = try developmentKey(at: secrets.keyFile, logger: logger)
        }
        return try Sealer(current: secrets.keyID, keys: keys)
    }

    private static func developmentKey(at path: String, logger: Logger) throws -> String {
        let manager = FileManager.default
        if let existing = manager.contents(atPath: path) {
            return String(decoding: existing, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let key = Sealer.generateKey()
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        guard manager.createFile(atPath: path, contents: Data(key.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ConfigurationFailure(message: "cannot write the development secrets key to \(path)")
        }
        logger.warning("SECRETS_KEY is not set: generated a development key in \(path); set SECRETS_KEY in production")
        return key
    }
}

/// The configuration lines of the next secrets key (`tokenledger rotate-key new`).
public enum KeyRotation {
    /// A new key with id `id` (default: `k<N+1>` after `k<N>`), and the previous keys that keep
    /// every older event readable: the current one and those already configured.
    public static func next(_ configuration: ServerConfiguration, id: String?) throws -> (id: String, key: String, previous: [String]) {
        let secrets = configuration.secrets
        let current = try secrets.key ?? String(decoding: FileManager.default.contents(atPath: secrets.keyFile) ?? Data(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
            .nonEmpty(orThrow: ConfigurationFailure(message: "no current key: set secrets.key (SECRETS_KEY)"))
        let newID = id ?? {
            if secrets.keyID.hasPrefix("k"), let number = Int(secrets.keyID.dropFirst()) { return "k\(number + 1)" }
            return secrets.keyID + "-next"
        }()
        let known = Set(secrets.previousKeys.compactMap { $0.split(separator: ":").first.map(String.init) } + [secrets.keyID])
        guard !known.contains(newID), !newID.contains(":"), !newID.contains("."), !newID.isEmpty else {
            throw ConfigurationFailure(message: "key id '\(newID)' is already used or contains ':' or '.'; pass another with --id")
        }
        return (newID, Sealer.generateKey(), ["\(secrets.keyID):\(current)"] + secrets.previousKeys)
    }
}

extension String {
    fileprivate func nonEmpty(orThrow error: @autoclosure () -> some Error) throws -> String {
        if isEmpty { throw error() }
        return self
    }
}
