// swift-tools-version: 6.2
import PackageDescription

/// The same language settings for every Swift target (applied in one loop at the end).
let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "TokenLedger",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tokenledger", targets: ["tokenledger"]),
        .executable(name: "platform-simulator", targets: ["platform-simulator"]),
        .library(name: "TokenLedger", targets: ["TokenLedger"]),
        .library(name: "LedgerPostgres", targets: ["LedgerPostgres"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/vapor/sqlite-nio", from: "1.13.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: ["YAML", "Logging"]),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.1.4"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        .target(
            name: "TokenLedger",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
            ]
        ),
        .target(
            name: "LedgerPostgres",
            dependencies: [
                "TokenLedger",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [
                .embedInCode("Migrations/001_token_events.sql"),
                .embedInCode("Migrations/002_append_only.sql"),
                .embedInCode("Migrations/003_writer_role.sql"),
                .embedInCode("Migrations/004_writer_login.sql"),
                .embedInCode("Migrations/005_webhook_checkpoints.sql"),
                .embedInCode("Migrations/006_append_function.sql"),
                .embedInCode("Migrations/007_memory_snapshots.sql"),
            ]
        ),
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CMariaDB", pkgConfig: "libmariadb", providers: [.apt(["libmariadb-dev"])]),
        .systemLibrary(name: "CMongoC", pkgConfig: "libmongoc-1.0", providers: [.apt(["libmongoc-dev"])]),
        .target(
            name: "ReadModelSupport",
            dependencies: [
                "TokenLedger",
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "ReadModelRedis",
            dependencies: ["TokenLedger", "ReadModelSupport", "CHiredis"]
        ),
        .target(
            name: "ReadModelMySQL",
            dependencies: ["TokenLedger", "ReadModelSupport", "CMariaDB"],
            resources: [.embedInCode("Migrations/001_current_tokens.sql")]
        ),
        .target(
            name: "ReadModelMongo",
            dependencies: ["TokenLedger", "ReadModelSupport", "CMongoC"]
        ),
        .target(
            name: "PighandImport",
            dependencies: ["TokenLedger", "ReadModelSupport", "ReadModelRedis", "ReadModelMySQL", "ReadModelMongo"]
        ),
        .target(
            name: "LedgerSQLite",
            dependencies: [
                "TokenLedger",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Platforms",
            dependencies: [
                "TokenLedger",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "PlatformSimulator",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "TokenHTTP",
            dependencies: [
                "TokenLedger",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "TokenUI",
            dependencies: [
                "TokenLedger",
                "TokenHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "TokenApp",
            dependencies: [
                "TokenLedger",
                "TokenHTTP",
                "TokenUI",
                "LedgerPostgres",
                "LedgerSQLite",
                "Platforms",
                "ReadModelSupport",
                "ReadModelRedis",
                "ReadModelMySQL",
                "ReadModelMongo",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "tokenledger",
            dependencies: [
                "TokenApp",
                "TokenHTTP",
                "TokenLedger",
                "PighandImport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "platform-simulator",
            dependencies: [
                "PlatformSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "LedgerTestSupport",
            dependencies: [
                "TokenLedger",
                "LedgerPostgres",
                "PlatformSimulator",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "ledger-bench",
            dependencies: [
                "TokenLedger",
                "LedgerPostgres",
                "PighandImport",
                "ReadModelRedis",
                "ReadModelMySQL",
                "ReadModelMongo",
                "Platforms",
                "PlatformSimulator",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "TokenLedgerTests",
            dependencies: ["TokenLedger", "LedgerTestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "PighandImportTests",
            dependencies: ["PighandImport", "TokenLedger", "LedgerTestSupport"]
        ),
        .testTarget(
            name: "PlatformsTests",
            dependencies: [
                "Platforms",
                "PlatformSimulator",
                "TokenLedger",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "LedgerSQLiteTests",
            dependencies: ["LedgerSQLite", "LedgerTestSupport", "TokenLedger"]
        ),
        .testTarget(
            name: "LedgerPostgresTests",
            dependencies: [
                "LedgerPostgres",
                "LedgerTestSupport",
                "TokenLedger",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(
            name: "ReadModelTests",
            dependencies: [
                "TokenLedger",
                "LedgerTestSupport",
                "LedgerPostgres",
                "ReadModelSupport",
                "ReadModelRedis",
                "ReadModelMySQL",
                "ReadModelMongo",
                "Platforms",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(
            name: "TokenHTTPTests",
            dependencies: [
                "TokenHTTP",
                "TokenLedger",
                "LedgerTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            ]
        ),
        .testTarget(
            name: "TokenUITests",
            dependencies: [
                "TokenUI",
                "TokenHTTP",
                "TokenLedger",
                "LedgerTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "TokenAppTests",
            dependencies: [
                "TokenApp",
                "Platforms",
                "TokenHTTP",
                "TokenLedger",
                "LedgerTestSupport",
                "PlatformSimulator",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ProcessTests",
            dependencies: [
                "PlatformSimulator",
                "LedgerTestSupport",
                "TokenLedger",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ]
)

for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + upcoming
}
