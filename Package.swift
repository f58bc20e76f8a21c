// swift-tools-version:6.0
import PackageDescription

// Layers depend only downward: C system libraries → MQTTBus / S2M3Core → services → `s2m3`.
let package = Package(
    name: "s2m3",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "s2m3", targets: ["s2m3"]),
        .library(name: "S2M3Core", targets: ["S2M3Core"]),
        .library(name: "MQTTBus", targets: ["MQTTBus"]),
        .library(name: "LocalBroker", targets: ["LocalBroker"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // Layer 0: C system libraries, each imported by exactly one Swift target.
        .systemLibrary(
            name: "CMosquitto",
            pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]
        ),
        // Layer 1.
        .target(name: "S2M3Core"),
        .target(
            name: "MQTTBus",
            dependencies: ["CMosquitto", .product(name: "Logging", package: "swift-log")]
        ),
        // Runs a Mosquitto child process from broker-config/ (tests, benchmarks, `s2m3 up`).
        .target(name: "LocalBroker"),
        // Layer 3.
        .executableTarget(
            name: "s2m3",
            dependencies: [
                "S2M3Core", "MQTTBus", "LocalBroker",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "S2M3CoreTests", dependencies: ["S2M3Core"]),
        .testTarget(
            name: "MQTTBusTests",
            dependencies: ["MQTTBus", "LocalBroker", .product(name: "Logging", package: "swift-log")]
        ),
    ]
)
