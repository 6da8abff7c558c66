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
        try await load(directory: directory, environment: environment, reporter: nil)
    }

    /// Loads the configuration, telling `reporter` every key read and which layer answered it
    /// (the providers' order is `layers(environment:)`'s).
    static func load(directory: String, environment: [String: String], reporter: (any AccessReporter)?) async throws -> ServerConfiguration {
        let name = environmentName(environment)
        guard let kind = ServerConfiguration.Environment(rawValue: name) else {
            throw ConfigurationFailure(message: "TOKENLEDGER_ENV must be development, test or production, is '\(name)'")
        }
        let reader = ConfigReader(
            providers: [
                EnvironmentVariablesProvider(environmentVariables: environment),
                try await FileProvider<YAMLSnapshot>(filePath: FilePath("\(directory)/\(name).yaml"), allowMissing: true),
                try await FileProvider<YAMLSnapshot>(filePath: FilePath("\(directory)/default.yaml"), allowMissing: true),
            ],
            accessReporter: reporter
        )
        return try ServerConfiguration(reader: reader, environment: kind)
    }

    /// The layers, highest first, as `load` stacks its providers.
    static func layers(environment: [String: String]) -> [String] {
        ["environment", "config/\(environmentName(environment)).yaml", "config/default.yaml"]
    }

    private static func environmentName(_ environment: [String: String]) -> String {
        environment["TOKENLEDGER_ENV"] ?? "development"
    }
}
