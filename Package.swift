// swift-tools-version:6.0
import PackageDescription

import Foundation

/// Code generation for the CPU that builds (a source build runs where it is built): AVX2+FMA or AVX-512
/// when /proc/cpuinfo shows them, so that the Swift kernels vectorise with 256/512-bit registers.
/// PRETRAIN_TARGET_CPU overrides it (e.g. `x86-64` for a binary that runs on any x86-64).
func targetCPU() -> String? {
    if let chosen = ProcessInfo.processInfo.environment["PRETRAIN_TARGET_CPU"] { return chosen.isEmpty ? nil : chosen }
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
    let flags = Set(flagsLine.split(separator: " ").map(String.init))
    if ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy(flags.contains) { return "skylake-avx512" }
    if ["avx2", "fma", "f16c", "bmi2"].allSatisfy(flags.contains) { return "haswell" }
    return nil
}

// Release-speed settings shared by the numeric modules. Bounds checks stay on (no unchecked optimisation).
// WIDE_SIMD: the CPU has AVX-512, so kernels written for it may use 16-lane vectors (one register each).
let numericSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"] + (targetCPU().map { ["-target-cpu", $0] } ?? [])),
] + (targetCPU() == "skylake-avx512" ? [.define("WIDE_SIMD")] : [])

let package = Package(
    name: "swift-pretrain",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "pretrain", targets: ["pretrain"]),
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "Layers", targets: ["Layers"]),
        .library(name: "Optimizers", targets: ["Optimizers"]),
        .library(name: "SafeTensors", targets: ["SafeTensors"]),
        .library(name: "TextData", targets: ["TextData"]),
        .library(name: "Objectives", targets: ["Objectives"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "HFInterop", targets: ["HFInterop"]),
        .library(name: "AudioData", targets: ["AudioData"]),
        .library(name: "SpeechSynthesis", targets: ["SpeechSynthesis"]),
        .library(name: "Studies", targets: ["Studies"]),
        .library(name: "Composition", targets: ["Composition"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // oneDNN (libdnnl-dev ships no pkg-config file, so a module map names the library).
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        // CPU feature detection, MXCSR (flush-to-zero) for every compute thread, OpenBLAS loading.
        .target(name: "CSupport", path: "Sources/CSupport",
                linkerSettings: [.linkedLibrary("gomp"), .linkedLibrary("dl")]),
        // `pretrain`'s start-up: OMP_WAIT_POLICY=passive unless the user chose a policy (C, a constructor that re-executes).
        .target(name: "CStartup", path: "Sources/CStartup"),
        // oneDNN matmul primitives (created per shape, cached by the Swift backend).
        .target(name: "CDNNLMatmul", path: "Sources/CDNNLMatmul", linkerSettings: [.linkedLibrary("dnnl")]),
        // File-system failures as one plain line naming the path and the operation (Foundation only).
        .target(name: "FileErrors", path: "Sources/FileErrors"),
        // Open MPI (libopenmpi-dev), the engine of data-parallel training, found by pkg-config; `Distributed` wraps it
        // behind a `Communicator` (a single process needs no MPI calls).
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .target(name: "Distributed", dependencies: ["CMPI"], path: "Sources/Distributed"),
        .target(name: "SafeTensors", dependencies: ["FileErrors"], path: "Sources/SafeTensors"),
        // Audio decoding (libsndfile), resampling (libsoxr), double-precision FFT (FFTW), found by pkg-config.
        .systemLibrary(name: "CSndFile", path: "Sources/CSndFile", pkgConfig: "sndfile", providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CSoxr", path: "Sources/CSoxr", pkgConfig: "soxr", providers: [.apt(["libsoxr-dev"])]),
        .systemLibrary(name: "CFFTW3", path: "Sources/CFFTW3", pkgConfig: "fftw3", providers: [.apt(["libfftw3-dev"])]),
        .target(name: "Tensors", dependencies: ["CDNNL", "CDNNLMatmul", "CSupport"], path: "Sources/Tensors",
                swiftSettings: numericSettings),
        .target(name: "Layers", dependencies: ["Tensors", "SafeTensors"], path: "Sources/Layers",
                swiftSettings: numericSettings),
        .target(name: "Optimizers", dependencies: ["Tensors", "Layers"], path: "Sources/Optimizers",
                swiftSettings: numericSettings),
        // Text corpora: byte-level BPE and WordPiece tokenizers, tokenizer.json, llm.c token shards.
        .target(name: "TextData", dependencies: ["FileErrors"], path: "Sources/TextData", swiftSettings: numericSettings),
        // What a model learns from a batch: causal LM, masked LM.
        .target(name: "Objectives", dependencies: ["Tensors", "Layers"], path: "Sources/Objectives",
                swiftSettings: numericSettings),
        // The loop: batches from shards, schedules, checkpoints, metrics, recipes, run directories; probes and
        // fine-tuning of checkpoints.
        .target(name: "Training",
                dependencies: ["Tensors", "Layers", "Optimizers", "Objectives", "TextData", "SafeTensors", "AudioData",
                               "Probes", "FileErrors", "Distributed", "HFInterop", "SpeechSynthesis", .product(name: "Yams", package: "Yams")],
                path: "Sources/Training", swiftSettings: numericSettings),
        // Hugging Face directories: config.json + model.safetensors + tokenizer.json, both ways.
        .target(name: "HFInterop", dependencies: ["Tensors", "Layers", "TextData", "SafeTensors", "FileErrors"],
                path: "Sources/HFInterop"),
        // Sequence-classification fine-tuning of the text checkpoints (gpt2, llama, bert): heads, best-dev-step
        // selection, linear probes, Hugging Face *ForSequenceClassification export.
        .target(name: "TextClassification",
                dependencies: ["Tensors", "Layers", "Optimizers", "TextData", "TextTasks", "Training", "HFInterop", "FileErrors"],
                path: "Sources/TextClassification", swiftSettings: numericSettings),
        // Speech corpora: decoding, mono mix-down, resampling, Kaldi-compatible fbank/MFCC, normalisation statistics.
        .target(name: "AudioData", dependencies: ["Tensors", "SafeTensors", "FileErrors", "CSndFile", "CSoxr", "CFFTW3"],
                path: "Sources/AudioData", swiftSettings: numericSettings),
        // SUPERB-style probes of frozen speech representations: layer mixture + linear head, CTC for phonemes.
        .target(name: "Probes", dependencies: ["Tensors", "Layers", "Optimizers", "AudioData", "FileErrors"],
                path: "Sources/Probes", swiftSettings: numericSettings),
        // Rerunnable studies built on the trainer: plan, runs, measurements, RESULTS.md section and figures.
        .target(name: "Studies", dependencies: ["Tensors", "Layers", "TextData", "Objectives", "Training", "Curation", "FileErrors",
                                               "TextTasks", "TextClassification", "TextEvaluation", "Composition"], path: "Sources/Studies",
                swiftSettings: numericSettings),
        // Structured fuzzers of every parser a user can feed (`pretrain fuzz`, `make fuzz`).
        .target(name: "Fuzzing", dependencies: ["TextData", "SafeTensors", "AudioData", "SpeechSynthesis", "Probes", "Training", "Curation"],
                path: "Sources/Fuzzing"),
        // Text curation before the tokenizer: JSONL documents through a YAML pipeline of steps (normalisation,
        // exact and MinHash-LSH near-dedup, boilerplate lines, quality rules, language ID, filters by score).
        // numericSettings: MinHash's multiply-shift permutations vectorise with the build CPU's 512/256-bit registers.
        .target(name: "Curation", dependencies: ["FileErrors", .product(name: "Yams", package: "Yams")],
                path: "Sources/Curation", swiftSettings: numericSettings),
        // Curation steps that run a trained model of ours (a perplexity scorer, a fine-tuned sequence classifier),
        // registered with Curation's steps.
        .target(name: "CurationScoring",
                dependencies: ["Curation", "Training", "TextData", "Layers", "Tensors", "HFInterop", "TextClassification"],
                path: "Sources/CurationScoring", swiftSettings: numericSettings),
        // Labelled text classification tasks from the bundled plays and data/sources: task.yaml, splits, data cards,
        // few-shot samples, the majority and bag-of-words baselines.
        .target(name: "TextTasks", dependencies: ["Curation", "FileErrors", .product(name: "Yams", package: "Yams")],
                path: "Sources/TextTasks"),
        // Zero- and few-shot multiple-choice scoring of decoders on the text tasks, as lm-evaluation-harness scores them.
        .target(name: "TextEvaluation",
                dependencies: ["Tensors", "Layers", "TextData", "Training", "TextTasks", "Curation", "FileErrors"],
                path: "Sources/TextEvaluation", swiftSettings: numericSettings),
        // Composing checkpoints without training: log-probability arithmetic at sampling and scoring time (emulated
        // fine-tuning, up-scaling), weight-space merging (averages, task arithmetic, TIES, residual transfer).
        .target(name: "Composition", dependencies: ["Tensors", "Layers", "TextData", "Training", "FileErrors"],
                path: "Sources/Composition", swiftSettings: numericSettings),
        // A regenerable labelled speech corpus from espeak-ng and sox (Foundation only).
        .target(name: "SpeechSynthesis", dependencies: ["FileErrors"], path: "Sources/SpeechSynthesis"),
        // Music corpora: generated MIDI rendered by fluidsynth with a General MIDI soundfont, exact labels.
        .target(name: "MusicSynthesis", dependencies: ["SpeechSynthesis", "FileErrors"], path: "Sources/MusicSynthesis"),
        .executableTarget(name: "pretrain",
                          dependencies: ["Tensors", "Layers", "Optimizers", "SafeTensors", "TextData", "Objectives",
                                         "Training", "HFInterop", "AudioData", "Probes", "SpeechSynthesis", "MusicSynthesis", "Studies", "FileErrors",
                                         "Fuzzing", "Distributed", "Curation", "CurationScoring", "TextTasks", "TextEvaluation",
                                         "TextClassification", "Composition", "CStartup",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Sources/pretrain", swiftSettings: numericSettings, plugins: ["BuildStamp"]),
        // The git commit for `pretrain --version`, stamped before each build.
        .plugin(name: "BuildStamp", capability: .buildTool(), path: "Plugins/BuildStamp"),
        // Not a test bundle: what the test targets share (assertClose, fixtures, temporary directories, pretrain runs).
        .target(name: "TestSupport", dependencies: ["Tensors", "SafeTensors"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "CDNNLMatmul", "SafeTensors", "TestSupport"],
                    path: "Tests/TensorsTests", exclude: ["Fixtures"]),
        .testTarget(name: "TextDataTests", dependencies: ["TextData", "TestSupport"], path: "Tests/TextDataTests",
                    exclude: ["Fixtures"]),
        .testTarget(name: "TrainingTests",
                    dependencies: ["Tensors", "Layers", "Optimizers", "Objectives", "TextData", "Training", "SafeTensors", "AudioData",
                                   "Probes", "FileErrors", "HFInterop", "TestSupport"],
                    path: "Tests/TrainingTests", exclude: ["Fixtures"]),
        .testTarget(name: "HFInteropTests",
                    dependencies: ["Tensors", "Layers", "TextData", "HFInterop", "SafeTensors", "TestSupport"],
                    path: "Tests/HFInteropTests", exclude: ["Fixtures"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors"], path: "Tests/SafeTensorsTests",
                    exclude: ["Fixtures"]),
        .testTarget(name: "LayersTests", dependencies: ["Tensors", "Layers", "Optimizers", "SafeTensors", "TestSupport"],
                    path: "Tests/LayersTests", exclude: ["Fixtures"]),
        .testTarget(name: "ProbesTests", dependencies: ["Probes", "AudioData", "Tensors", "TestSupport"],
                    path: "Tests/ProbesTests"),
        .testTarget(name: "AudioDataTests", dependencies: ["AudioData", "SafeTensors", "TestSupport"],
                    path: "Tests/AudioDataTests", exclude: ["Fixtures"]),
        .testTarget(name: "SpeechSynthesisTests", dependencies: ["SpeechSynthesis"], path: "Tests/SpeechSynthesisTests"),
        .testTarget(name: "MusicSynthesisTests", dependencies: ["MusicSynthesis", "SpeechSynthesis"], path: "Tests/MusicSynthesisTests"),
        .testTarget(name: "StudiesTests", dependencies: ["Studies", "Training", "TextData", "TestSupport"], path: "Tests/StudiesTests"),
        .testTarget(name: "FuzzingTests", dependencies: ["Fuzzing", "TestSupport"], path: "Tests/FuzzingTests"),
        .testTarget(name: "CurationTests",
                    dependencies: ["Curation", "CurationScoring", "Training", "HFInterop", "TextClassification", "TestSupport"],
                    path: "Tests/CurationTests"),
        .testTarget(name: "TextTasksTests", dependencies: ["TextTasks", "TestSupport"], path: "Tests/TextTasksTests"),
        .testTarget(name: "TextEvaluationTests",
                    dependencies: ["TextEvaluation", "TextTasks", "Training", "TextData", "HFInterop", "Layers", "Tensors", "TestSupport"],
                    path: "Tests/TextEvaluationTests", exclude: ["Fixtures"]),
        .testTarget(name: "TextClassificationTests",
                    dependencies: ["TextClassification", "TextTasks", "Training", "HFInterop", "Layers", "Tensors", "TextData",
                                   "TestSupport"],
                    path: "Tests/TextClassificationTests"),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "TestSupport"], path: "Tests/DistributedTests"),
        .testTarget(name: "CompositionTests",
                    dependencies: ["Composition", "Training", "HFInterop", "Layers", "Tensors", "TextData", "SafeTensors", "TestSupport"],
                    path: "Tests/CompositionTests", exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v5]
)
