import Configuration
import Foundation
import TokenLedger

extension ServerConfiguration.DeclaredApp {
    /// `apps` with their `app_options`, from the root reader (both are top-level keys).
    static func read(_ reader: ConfigReader) throws -> [Self] {
        var apps = try reader.stringArray(forKey: "apps", isSecret: true, default: []).map(parse)
        for entry in reader.stringArray(forKey: "app_options", default: []) {
            let (stream, options) = try parseOptions(entry)
            guard let index = apps.firstIndex(where: { $0.stream == stream }) else {
                throw ConfigurationFailure(message: "app_options names \(stream), which is not in apps")
            }
            apps[index].options = options
        }
        return apps
    }

    /// `project/platform/appid=secret`; a secret written `$NAME` is read from that environment variable.
    static func parse(_ entry: String) throws -> Self {
        guard let equals = entry.firstIndex(of: "=") else {
            throw ConfigurationFailure(message: "apps entries are written project/platform/appid=secret")
        }
        let stream = String(entry[..<equals]).trimmingCharacters(in: .whitespaces)
        var secret = String(entry[entry.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
        _ = try ConfigurationFailure.rethrowing { try StreamID(parsing: stream) }
        if secret.hasPrefix("$") {
            let name = String(secret.dropFirst())
            guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
                throw ConfigurationFailure(message: "app \(stream) takes its secret from $\(name), which is not set")
            }
            secret = value
        }
        guard !secret.isEmpty else {
            throw ConfigurationFailure(message: "app \(stream) has an empty secret")
        }
        return Self(stream: stream, secret: secret)
    }

    /// `project/platform/appid key=value key=value`.
    static func parseOptions(_ entry: String) throws -> (String, [String: String]) {
        let words = entry.split(separator: " ", omittingEmptySubsequences: true)
        guard let stream = words.first else { throw ConfigurationFailure(message: "an app_options entry is empty") }
        var options: [String: String] = [:]
        for word in words.dropFirst() {
            guard let equals = word.firstIndex(of: "=") else {
                throw ConfigurationFailure(message: "app_options entries are written project/platform/appid key=value …")
            }
            options[String(word[..<equals])] = String(word[word.index(after: equals)...])
        }
        return (String(stream), options)
    }
}
