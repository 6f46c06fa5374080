using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;
using FuncRerank.Inference;
using FuncRerank.Tests.TestSupport;

namespace FuncRerank.Tests.Infra;

/// <summary>
/// The container image, checked without a Docker engine: the Dockerfile's CUDA packages and libraries against
/// docker/cuda-libraries.tsv, and that table against what ONNX Runtime 1.31's Linux natives (the ones restored for
/// this build, byte for byte the ones the image publishes) actually link (readelf -d) and open by name (dlopen).
/// </summary>
public class ContainerImageTests
{
    private sealed record Row(string Soname, string Package, string Loaded);

    private static string DockerDirectory => Path.Combine(RepoFiles.RepoRoot, "docker");

    private static string Dockerfile => File.ReadAllText(Path.Combine(RepoFiles.RepoRoot, "Dockerfile"));

    private static string NativeDirectory => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native");

    private static readonly Lazy<Row[]> Table = new(() => File.ReadAllLines(Path.Combine(DockerDirectory, "cuda-libraries.tsv"))
        .Where(line => line.Length > 0 && !line.StartsWith('#'))
        .Select(line => line.Split('\t'))
        .Select(cells =>
        {
            Assert.True(cells.Length == 3, $"docker/cuda-libraries.tsv: '{string.Join("\\t", cells)}' is not soname<TAB>package<TAB>loaded");
            Assert.Contains(cells[2], new[] { "needed", "dlopen", "driver", "base" });
            return new Row(cells[0], cells[1], cells[2]);
        })
        .ToArray());

    private static HashSet<string> DockerfileArgument(string name)
    {
        var match = Regex.Match(Dockerfile, $"^ARG {name}=\"([^\"]*)\"", RegexOptions.Multiline);
        Assert.True(match.Success, $"the Dockerfile declares no ARG {name}=\"...\"");
        return match.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
    }

    /// <summary>DT_NEEDED entries, as binutils' readelf reads them.</summary>
    private static HashSet<string> Needed(string library)
    {
        var path = Path.Combine(NativeDirectory, library);
        Assert.True(File.Exists(path), $"{path} is missing: the ONNX Runtime GPU package's Linux natives were not restored");
        ToolProcess.Result readelf;
        try
        {
            readelf = ToolProcess.Run("readelf", ["-d", "-W", path]);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException("readelf is missing: apt-get install binutils (.ci/run installs it)");
        }

        Assert.True(readelf.ExitCode == 0, readelf.Output);
        return Regex.Matches(readelf.StandardOutput, @"\(NEEDED\)\s+Shared library: \[([^\]]+)\]").Select(m => m.Groups[1].Value).ToHashSet();
    }

    /// <summary>
    /// Library names a binary carries to open with dlopen: plain strings ("libnvrtc.so.13"), and names the compiler
    /// stored as two overlapping 8-byte immediates ("libcudnn" + "dnn.so.9" = "libcudnn.so.9"), which `strings` misses.
    /// </summary>
    internal static HashSet<string> OpenedByName(byte[] binary)
    {
        var names = new HashSet<string>();
        ReadOnlySpan<byte> lib = "lib"u8;
        for (var at = binary.AsSpan().IndexOf(lib); at >= 0;)
        {
            // A plain string: "lib" + name + ".so" + ".N"..., ended by a NUL.
            var end = at;
            while (end < binary.Length && end - at < 64 && binary[end] is >= 0x21 and < 0x7F)
                end++;
            var text = Encoding.Latin1.GetString(binary, at, end - at);
            var plain = Regex.Match(text, @"^lib[A-Za-z0-9_]+\.so(\.[0-9]+)+");
            if (plain.Success)
                names.Add(plain.Value);

            // Two overlapping 8-byte immediates: movabs r64, imm64 (REX.W 0x48/0x49, opcode 0xB8..0xBF) with "lib...",
            // then the next movabs within a few instructions.
            if (at >= 2 && binary[at - 2] is 0x48 or 0x49 && binary[at - 1] is >= 0xB8 and <= 0xBF && at + 8 <= binary.Length)
            {
                var head = Encoding.Latin1.GetString(binary, at, 8);
                for (var j = at + 8; j + 10 <= binary.Length && j < at + 48; j++)
                {
                    if (binary[j] is not (0x48 or 0x49) || binary[j + 1] is < 0xB8 or > 0xBF)
                        continue;
                    var tail = Encoding.Latin1.GetString(binary, j + 2, 8);
                    for (var overlap = 7; overlap >= 1; overlap--)
                    {
                        if (head.EndsWith(tail[..overlap], StringComparison.Ordinal) && Regex.IsMatch(head + tail[overlap..], @"^lib[A-Za-z0-9_]+\.so\.[0-9]+$"))
                        {
                            names.Add(head + tail[overlap..]);
                            break;
                        }
                    }

                    break;
                }
            }

            var next = binary.AsSpan(at + 1).IndexOf(lib);
            at = next < 0 ? -1 : at + 1 + next;
        }

        return names;
    }

    private static string Family(string soname) => soname[..soname.IndexOf(".so", StringComparison.Ordinal)];

    [Fact]
    public void Every_library_onnx_runtime_links_is_in_the_table_and_every_linked_row_is_still_linked()
    {
        var needed = Needed("libonnxruntime.so").Union(Needed("libonnxruntime_providers_cuda.so")).ToHashSet();
        var rows = Table.Value.ToDictionary(r => r.Soname);

        Assert.Contains("libcublasLt.so.13", needed); // the CUDA 13 build, as the table assumes
        foreach (var soname in needed)
            Assert.True(rows.TryGetValue(soname, out var row) && row.Loaded is "needed" or "driver" or "base",
                $"ONNX Runtime links {soname}, which docker/cuda-libraries.tsv does not list as needed/driver/base");
        foreach (var row in Table.Value.Where(r => r.Loaded is "needed" or "driver"))
            Assert.True(needed.Contains(row.Soname), $"docker/cuda-libraries.tsv lists {row.Soname} as linked, but ONNX Runtime no longer links it");
    }

    [Fact]
    public void Every_cuda_library_the_provider_opens_by_name_is_in_the_table()
    {
        var opened = OpenedByName(File.ReadAllBytes(Path.Combine(NativeDirectory, "libonnxruntime_providers_cuda.so")));
        var needed = Needed("libonnxruntime_providers_cuda.so");
        var dlopenRows = Table.Value.Where(r => r.Loaded == "dlopen").ToArray();

        foreach (var row in dlopenRows)
            Assert.True(opened.Contains(row.Soname), $"docker/cuda-libraries.tsv says the provider opens {row.Soname}, but it names no such library");
        // Every family it opens (it also tries older CUDA 12 names as fallbacks) has its CUDA 13 version in the table.
        var families = opened.Except(needed).Select(Family).Where(f => f.StartsWith("libcu", StringComparison.Ordinal) || f.StartsWith("libnv", StringComparison.Ordinal)).ToHashSet();
        var tableFamilies = Table.Value.Select(r => Family(r.Soname)).ToHashSet();
        Assert.Empty(families.Except(tableFamilies));
        Assert.Contains("libcudnn.so.9", opened);
        Assert.Contains("libcufft.so.12", opened);
        Assert.Contains("libnvrtc.so.13", opened);
    }

    [Fact]
    public void The_dockerfile_installs_exactly_the_tables_packages_and_checks_exactly_its_libraries()
    {
        var packages = DockerfileArgument("CUDA_PACKAGES");
        var libraries = DockerfileArgument("CUDA_LIBRARIES");

        Assert.Equal(Table.Value.Where(r => r.Loaded != "base").Select(r => r.Package).ToHashSet().Order(), packages.Order());
        Assert.Equal(Table.Value.Where(r => r.Loaded is "needed" or "dlopen").Select(r => r.Soname).Order(), libraries.Order());
        Assert.Contains("apt-get install -y --no-install-recommends ${CUDA_PACKAGES}", Dockerfile);
        Assert.Contains("for lib in ${CUDA_LIBRARIES}; do", Dockerfile);
    }

    [Fact]
    public void The_app_diagnoses_the_same_libraries_the_image_carries()
    {
        Assert.Equal(
            Table.Value.Where(r => r.Loaded != "base").Select(r => r.Soname).Order(),
            CudaEnvironment.Libraries.Order());
    }

    [Fact]
    public void The_provider_has_kernels_for_the_t4_and_the_a100()
    {
        // The .nv_fatbin section holds one cubin per kernel file and GPU architecture; without sm_75 SASS (and with
        // no PTX to JIT from) a T4 could not run the provider at all.
        var architectures = FatbinArchitectures(Path.Combine(NativeDirectory, "libonnxruntime_providers_cuda.so"));

        Assert.Contains(75, architectures); // T4 (Turing)
        Assert.Contains(80, architectures); // A100 (Ampere)
    }

    private static HashSet<int> FatbinArchitectures(string path)
    {
        var readelf = ToolProcess.Run("readelf", ["-S", "-W", path]);
        var section = Regex.Match(readelf.StandardOutput, @"\.nv_fatbin\s+PROGBITS\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)");
        Assert.True(section.Success, "the CUDA provider has no .nv_fatbin section");
        var offset = Convert.ToInt64(section.Groups[1].Value, 16);
        var size = Convert.ToInt64(section.Groups[2].Value, 16);
        using var file = File.OpenRead(path);
        file.Position = offset;
        var data = new byte[size];
        file.ReadExactly(data);
        var architectures = new HashSet<int>();
        for (var position = 0; position + 16 <= data.Length;)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(position)) != 0xBA55ED50)
            {
                position += 8;
                continue;
            }

            var headerSize = BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(position + 6));
            var bodySize = BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(position + 8));
            var entry = position + headerSize;
            var end = entry + (long)bodySize;
            while (entry + 32 <= end)
            {
                var kind = BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(entry));
                var entryHeader = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(entry + 4));
                var entrySize = BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(entry + 8));
                if (kind == 2) // ELF (SASS)
                    architectures.Add((int)BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(entry + 28)));
                entry += (int)(entryHeader + entrySize);
            }

            position = (int)end;
        }

        return architectures;
    }

    [Fact]
    public void The_image_is_the_functions_dotnet_10_isolated_image_built_from_a_linux_publish_with_icu()
    {
        var text = Dockerfile;
        var stages = Regex.Matches(text, @"^FROM (\S+)", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToArray();

        Assert.Equal(["mcr.microsoft.com/dotnet/sdk:10.0", "mcr.microsoft.com/azure-functions/dotnet-isolated:4-dotnet-isolated10.0"], stages);
        Assert.Matches(@"dotnet publish src/FuncRerank\.Functions/FuncRerank\.Functions\.csproj -c Release -r linux-x64", text);
        Assert.Contains("grep -E '^onnxruntime.*\\.dll$'", text); // the build fails if Windows natives slip in
        Assert.Contains("libicu", text);
        Assert.Contains("libicuuc", text);
        Assert.Contains("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=false", text);
        Assert.Contains("Reranker__Device=cuda", text);
        Assert.Contains("COPY docker/cuda-env.sh /opt/funcrerank/cuda-env.sh", text);
        Assert.Contains("ENTRYPOINT [\"/opt/funcrerank/cuda-env.sh\"]", text);
        Assert.Contains("CMD [\"/opt/startup/start_nonappservice.sh\"]", text);

        // The remote build's context: everything the Dockerfile copies must survive .dockerignore.
        var ignored = File.ReadAllLines(Path.Combine(RepoFiles.RepoRoot, ".dockerignore")).Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();
        foreach (var copied in new[] { "src/", "docker/", "host.json", "Directory.Build.props", "Directory.Packages.props" })
            Assert.DoesNotContain(ignored, pattern => copied.StartsWith(pattern.TrimStart('/'), StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_linux_publish_references_the_linux_natives_alone()
    {
        // Evaluation only (no restore, no build): which ONNX Runtime packages FuncRerank.Core takes for linux-x64.
        string[] Evaluate(params string[] extra)
        {
            var run = ToolProcess.Run("dotnet", ["msbuild", Path.Combine(RepoFiles.RepoRoot, "src", "FuncRerank.Core", "FuncRerank.Core.csproj"),
                "-getItem:PackageReference", "-nologo", .. extra]);
            Assert.True(run.ExitCode == 0, run.Output);
            return Regex.Matches(run.StandardOutput, "\"Identity\": \"([^\"]+)\"").Select(m => m.Groups[1].Value).Where(p => p.Contains("OnnxRuntime")).Order().ToArray();
        }

        var linux = Task.Run(() => Evaluate("-p:RuntimeIdentifier=linux-x64"));
        var portable = Task.Run(() => Evaluate());
        Assert.Equal(["Microsoft.ML.OnnxRuntime.Gpu.Linux", "Microsoft.ML.OnnxRuntime.Managed"], await linux);
        Assert.Equal(["Microsoft.ML.OnnxRuntime.Gpu"], await portable);
    }

    // ---- docker/cuda-env.sh: the entry point that picks the driver library ---------------------------------------

    private static (int ExitCode, string LibraryPath, string Log) RunEntryPoint(string? driverVersionLine, string mode = "auto", bool compatPresent = true)
    {
        var directory = RepoFiles.NewTemporaryDirectory();
        var versionFile = Path.Combine(directory, "version");
        if (driverVersionLine is not null)
            File.WriteAllText(versionFile, driverVersionLine + "\n");
        var compat = Path.Combine(directory, "compat");
        if (compatPresent)
            Directory.CreateDirectory(compat);
        var run = ToolProcess.Run("sh", [Path.Combine(DockerDirectory, "cuda-env.sh"), "sh", "-c", "printf '%s' \"${LD_LIBRARY_PATH:-}\""], environment: new Dictionary<string, string?>
        {
            ["FUNCRERANK_NVIDIA_VERSION_FILE"] = versionFile,
            ["FUNCRERANK_CUDA_COMPAT_DIR"] = compat,
            ["FUNCRERANK_CUDA_COMPAT"] = mode,
            ["LD_LIBRARY_PATH"] = "/usr/local/lib",
        });
        Directory.Delete(directory, recursive: true);
        return (run.ExitCode, run.StandardOutput, run.StandardError);
    }

    [Fact]
    public void The_entry_point_puts_the_forward_compatible_libcuda_first_under_a_pre_r580_driver_only()
    {
        var old = RunEntryPoint("NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.54.03  Tue Jun  6 22:20:39 UTC 2023");
        var current = RunEntryPoint("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.65.06  Release Build  (dvs-builder@U16)");
        var none = RunEntryPoint(null);
        var forced = RunEntryPoint("NVRM version: NVIDIA UNIX x86_64 Kernel Module  590.10  Release Build", mode: "on");
        var refused = RunEntryPoint("NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.54.03", mode: "off");
        var bogus = RunEntryPoint(null, mode: "sometimes");

        Assert.Equal(0, old.ExitCode);
        Assert.EndsWith("compat:/usr/local/lib", old.LibraryPath);
        Assert.Contains("NVIDIA driver 535.54.03 (CUDA 13 needs 580+): using the forward-compatibility libcuda", old.Log);
        Assert.Equal("/usr/local/lib", current.LibraryPath);
        Assert.Contains("NVIDIA driver 580.65.06; using the host's libcuda", current.Log);
        Assert.Equal("/usr/local/lib", none.LibraryPath);
        Assert.Contains("no NVIDIA driver visible", none.Log);
        Assert.EndsWith("compat:/usr/local/lib", forced.LibraryPath);
        Assert.Equal("/usr/local/lib", refused.LibraryPath);
        Assert.Equal(2, bogus.ExitCode);
    }
}
