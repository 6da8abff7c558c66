import Configuration
import Foundation
import SystemPackage
import TokenLedger

/// Builds the layered configuration: environment variables › `config/<env>.yaml` › `config/default.yaml`.
public enum ConfigurationLoader {
    /// Loads the configuration for `TOKENLEDGER_ENV` (default `development`) from `directory`.
    public static func load(directory: String = "config") async throws -> ServerConfiguration {
        try await load(directory: directory, environment: ProcessInfo.processInfo.environment)
    }

    /// Loads the configuration with an explicit environment (tests).
    public static func load(directory: String, environment: [String: String]) async throws -> ServerConfiguration {
        let name = environment["TOKENLEDGER_ENV"] ?? "development"
        guard let kind = ServerConfiguration.Environment(rawValue: name) else {
            throw ConfigurationFailure(message: "TOKENLEDGER_ENV must be development, test or production, is '\(name)'")
        }
        let reader = ConfigReader(providers: [
            EnvironmentVariablesProvider(environmentVariables: environment),
            try await FileProvider<YAMLSnapshot>(filePath: FilePath("\(directory)/\(name).yaml"), allowMissing: true),
            try await FileProvider<YAMLSnapshot>(filePath: FilePath("\(directory)/default.yaml"), allowMissing: true),
        ])
        return try ServerConfiguration(reader: reader, environment: kind)
    }
}
