// swift-tools-version: 6.1
import PackageDescription

/// Ferry's own targets see only the members of modules they import. Without
/// this, extension members of full Foundation (loaded through dependencies
/// that import it) win overload resolution over FoundationEssentials' and
/// the standard library's, and `ferry` would link Foundation and its ICU data.
let ferrySwiftSettings: [SwiftSetting] = [.enableUpcomingFeature("MemberImportVisibility")]

let package = Package(
    name: "Ferry",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ferry", targets: ["ferry"]),
        .library(name: "FerryCore", targets: ["FerryCore"]),
        .library(name: "FerryONNXRuntime", targets: ["FerryONNXRuntime"]),
        .library(name: "FerryClient", targets: ["FerryClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // No traits: the default FullFoundation and ConfigurationSupport link full
        // Foundation (and its 40 MB ICU data library) into ferry and every image.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/vapor/sqlite-nio", from: "1.13.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        .target(name: "FerryCore", swiftSettings: ferrySwiftSettings),
        .systemLibrary(name: "CONNXRuntime"),
        .target(name: "CFerrySystem"),
        .target(name: "FerryONNXRuntime", dependencies: ["FerryCore", "CONNXRuntime"], swiftSettings: ferrySwiftSettings),
        .target(name: "FerryGPU", dependencies: ["FerryCore"], swiftSettings: ferrySwiftSettings),
        .target(
            name: "FerryProtocol",
            dependencies: [
                "FerryCore",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ], swiftSettings: ferrySwiftSettings),
        .target(
            name: "FerryTelemetry",
            dependencies: [
                "FerryCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: ferrySwiftSettings),
        .target(
            name: "FerrySecurity",
            dependencies: [
                "FerryCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ], swiftSettings: ferrySwiftSettings),
        .target(
            name: "FerryServing",
            dependencies: [
                "FerryCore",
                "FerryGPU",
                "FerryProtocol",
                "CFerrySystem",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ], swiftSettings: ferrySwiftSettings),
        .target(
            name: "FerryGRPC",
            dependencies: [
                "FerryCore",
                "FerryProtocol",
                "FerryServing",
                "FerrySecurity",
                "FerryTelemetry",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ], swiftSettings: ferrySwiftSettings),
        .target(
            name: "FerryClient",
            dependencies: [
                "FerryCore",
                "FerryProtocol",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ], swiftSettings: ferrySwiftSettings),
        .target(
            name: "FerryPostgres",
            dependencies: [
                "FerryCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ], swiftSettings: ferrySwiftSettings),
        .target(
            name: "FerryJobs",
            dependencies: [
                "FerryCore",
                "FerryProtocol",
                "FerryServing",
                "FerryPostgres",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ], swiftSettings: ferrySwiftSettings),
        .target(
            name: "FerryImage",
            dependencies: [
                "FerryCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "SystemPackage", package: "swift-system"),
            ], swiftSettings: ferrySwiftSettings),
        .target(name: "FerryDeploy", dependencies: ["FerryCore"], swiftSettings: ferrySwiftSettings),
        .target(
            name: "FerryConvert",
            dependencies: ["FerryCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: ferrySwiftSettings),
        .target(
            name: "FerryHTTP",
            dependencies: [
                "FerryCore",
                "FerryProtocol",
                "FerryServing",
                "FerryJobs",
                "FerrySecurity",
                "FerryTelemetry",
                "FerryGPU",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ], swiftSettings: ferrySwiftSettings),
        .target(
            name: "FerryServer",
            dependencies: [
                "FerryCore",
                "FerryServing",
                "FerryHTTP",
                "FerryGRPC",
                "FerryImage",
                "FerryJobs",
                "FerrySecurity",
                "FerryTelemetry",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ], swiftSettings: ferrySwiftSettings),
        .executableTarget(
            name: "ferry",
            dependencies: [
                "FerryCore",
                "FerryONNXRuntime",
                "FerryServing",
                "FerryHTTP",
                "FerryGRPC",
                "FerryJobs",
                "FerryImage",
                "FerryDeploy",
                "FerryConvert",
                "FerryServer",
                "FerryClient",
                "FerrySecurity",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: ferrySwiftSettings
        ),
        .executableTarget(
            name: "InProcessBenchmark",
            dependencies: ["FerryCore", "FerryONNXRuntime", "CONNXRuntime"],
            path: "Benchmarks/InProcessBenchmark"
        ),
        .executableTarget(
            name: "JSONTensorBenchmark",
            dependencies: ["FerryCore", "FerryProtocol"],
            path: "Benchmarks/JSONTensorBenchmark"
        ),
        .executableTarget(
            name: "ThroughputBenchmark",
            dependencies: ["FerryCore", "FerryONNXRuntime"],
            path: "Benchmarks/ThroughputBenchmark"
        ),
        // Helpers more than one test target uses (a seeded random generator).
        .target(name: "FerryTestSupport", path: "Tests/FerryTestSupport"),
        .testTarget(name: "FerryCoreTests", dependencies: ["FerryCore", "FerryProtocol", "FerryTestSupport"]),
        .testTarget(name: "FerrySecurityTests", dependencies: ["FerryCore", "FerrySecurity"]),
        .testTarget(name: "FerryImageTests", dependencies: ["FerryCore", "FerryImage"]),
        .testTarget(
            name: "FerryPostgresTests", dependencies: ["FerryPostgres", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "FerryDeployTests", dependencies: ["FerryCore", "FerryDeploy"]),
        .testTarget(name: "FerryConvertTests", dependencies: ["FerryCore", "FerryConvert", "FerryONNXRuntime"]),
        .testTarget(
            name: "FerryGRPCTests",
            dependencies: [
                "FerryCore", "FerryGRPC", "FerryProtocol", "FerryServing", "FerryONNXRuntime", "FerrySecurity",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
            ]),
        .testTarget(
            name: "FerryServerTests",
            dependencies: [
                "FerryCore", "FerryServer", "FerryONNXRuntime", "FerryClient",
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),
        .testTarget(name: "FerryONNXRuntimeTests", dependencies: ["FerryCore", "FerryONNXRuntime", "FerryProtocol"]),
        .testTarget(
            name: "FerryCLITests",
            dependencies: [
                "ferry", "FerryCore", "FerryProtocol", "FerryClient", "FerryImage", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .testTarget(
            name: "FerryServingTests",
            dependencies: [
                "FerryCore", "FerryProtocol", "FerryServing", "FerryONNXRuntime", "FerryTestSupport",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .testTarget(
            name: "FerryHTTPTests",
            dependencies: [
                "FerryCore", "FerryProtocol", "FerryServing", "FerryHTTP", "FerryJobs", "FerryONNXRuntime", "FerrySecurity",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
