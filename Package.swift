// swift-tools-version:5.9
// Aurora Router for Swift: the uniffi-generated Swift API (bindings/swift/)
// over the Rust library packaged as an XCFramework.
//
// Build the XCFramework first, on a Mac: `bash scripts/build-xcframework.sh`
// (writes build/AuroraRouterFFI.xcframework). Then add this package to an app
// and `import AuroraRouter`.
//
// Cactus: the library calls the Cactus engine's C API; link Cactus's own
// XCFramework next to it. With SwiftPM, uncomment the `Cactus` binary target
// below (point `path` at Cactus's cactus.xcframework) and the dependency on it.
import PackageDescription

let package = Package(
    name: "AuroraRouter",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "AuroraRouter", targets: ["AuroraRouter"]),
    ],
    targets: [
        // The Rust staticlib, the uniffi C header and its modulemap
        // (`framework module AuroraRouterFFI`).
        .binaryTarget(name: "AuroraRouterFFI", path: "build/AuroraRouterFFI.xcframework"),
        // .binaryTarget(name: "Cactus", path: "path/to/cactus.xcframework"),
        .target(
            name: "AuroraRouter",
            dependencies: [
                "AuroraRouterFFI",
                // "Cactus",
            ],
            path: "bindings/swift",
            exclude: ["AuroraRouterFFI.h", "module.modulemap"],
            sources: ["AuroraRouter.swift"]
        ),
    ]
)
