// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Ferry",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ferry", targets: ["ferry"]),
        .library(name: "FerryCore", targets: ["FerryCore"]),
        .library(name: "FerryONNXRuntime", targets: ["FerryONNXRuntime"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
    ],
    targets: [
        .target(name: "FerryCore"),
        .systemLibrary(name: "CONNXRuntime"),
        .target(name: "FerryONNXRuntime", dependencies: ["FerryCore", "CONNXRuntime"]),
        .executableTarget(
            name: "ferry",
            dependencies: [
                "FerryCore",
                "FerryONNXRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "InProcessBenchmark",
            dependencies: ["FerryCore", "FerryONNXRuntime", "CONNXRuntime"],
            path: "Benchmarks/InProcessBenchmark"
        ),
        .testTarget(name: "FerryCoreTests", dependencies: ["FerryCore"]),
        .testTarget(name: "FerryONNXRuntimeTests", dependencies: ["FerryCore", "FerryONNXRuntime"]),
        .testTarget(name: "FerryCLITests", dependencies: ["ferry", "FerryCore"]),
    ]
)
