using System.Runtime.Versioning;
using FuncRerank.Tests.TestSupport;

namespace FuncRerank.Tests.Infra;

/// <summary>
/// tests/prerequisites.sh, the first step of the README's test command, run for real by bash against stand-in
/// <c>dpkg-query</c>, <c>apt-get</c>, <c>sudo</c>, <c>id</c> and Python that keep the "installed" packages in a file:
/// what it installs, through what, and what it says when it cannot. Its real run (nothing missing) is every test run's
/// first step, and CI's fresh machines exercise the real apt path.
/// </summary>
[SupportedOSPlatform("linux")] // bash scripts and Unix file modes
public class PrerequisitesScriptTests
{
    private static readonly string[] AllPackages = ["python3-torch", "python3-numpy", "libopenblas0-pthread", "binutils", "libicu72"];

    /// <summary>A PATH of stand-ins only, and the files they keep their state in; removed afterwards.</summary>
    private sealed class Machine : IDisposable
    {
        private readonly string _root = RepoFiles.NewTemporaryDirectory();

        public Machine(IEnumerable<string> installed, bool root, bool sudo = false, bool debian = true, bool dotnet = true)
        {
            Directory.CreateDirectory(Bin);
            File.WriteAllLines(InstalledFile, installed);
            Stub("grep", "exec /bin/grep \"$@\"");
            Stub("id", $"echo {(root ? 0 : 1000)}");
            Stub("npm", "exit 0");
            if (dotnet)
                Stub("dotnet", "exit 0");
            if (debian)
            {
                Stub("dpkg-query", $"/bin/grep -qx \"${{@: -1}}\" '{InstalledFile}' && printf 'install ok installed'");
                // Records each call; "install" marks its package arguments installed, as apt would.
                Stub("apt-get", $"""
                    echo "apt-get $*" >> '{CallsFile}'
                    [ "$1" = install ] || exit 0
                    for argument in "$@"; do case "$argument" in install|-*) ;; *) echo "$argument" >> '{InstalledFile}' ;; esac; done
                    """);
            }

            if (sudo)
                Stub("sudo", $"""
                    echo "sudo $*" >> '{CallsFile}'
                    [ "$1" = -n ] && shift
                    [ "$1" = true ] && exit 0
                    exec "$@"
                    """);
            Stub("python", $"/bin/grep -qx python3-torch '{InstalledFile}' && /bin/grep -qx python3-numpy '{InstalledFile}'");
        }

        private string Bin => Path.Combine(_root, "bin");

        private string InstalledFile => Path.Combine(_root, "installed");

        private string CallsFile => Path.Combine(_root, "calls");

        public string[] Calls => File.Exists(CallsFile) ? File.ReadAllLines(CallsFile) : [];

        public string[] Installed => File.ReadAllLines(InstalledFile);

        public ToolProcess.Result Run() => ToolProcess.Run("/bin/bash", [Path.Combine(RepoFiles.RepoRoot, "tests", "prerequisites.sh")],
            environment: new Dictionary<string, string?>
            {
                ["PATH"] = Bin,
                ["FUNCRERANK_PYTHON"] = Path.Combine(Bin, "python"),
            });

        private void Stub(string name, string body)
        {
            var path = Path.Combine(Bin, name);
            File.WriteAllText(path, "#!/bin/bash\n" + body + "\n");
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        public void Dispose()
        {
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: the run's temporary root goes at exit anyway.
            }
        }
    }

    [Fact]
    public void As_root_it_installs_exactly_the_missing_packages_says_why_and_succeeds()
    {
        using var machine = new Machine(["libopenblas0-pthread", "libicu72"], root: true);

        var result = machine.Run();

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Equal(
            ["apt-get update -qq", "apt-get install -y -qq --no-install-recommends python3-torch python3-numpy binutils"],
            machine.Calls);
        Assert.Equal(AllPackages.Order(), machine.Installed.Order());
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("prerequisites: installing python3-torch python3-numpy binutils with apt-get (", line);
        Assert.Contains("torch/numpy make the test checkpoints", line);
    }

    [Fact]
    public void Without_root_it_installs_through_sudo()
    {
        using var machine = new Machine(["python3-torch", "python3-numpy", "binutils", "libicu72"], root: false, sudo: true);

        var result = machine.Run();

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Equal(
            [
                "sudo -n true",
                "sudo apt-get update -qq", "apt-get update -qq",
                "sudo apt-get install -y -qq --no-install-recommends libopenblas0-pthread",
                "apt-get install -y -qq --no-install-recommends libopenblas0-pthread",
            ],
            machine.Calls);
    }

    [Fact]
    public void Without_root_or_sudo_it_names_the_command_to_run_and_fails_without_installing()
    {
        using var machine = new Machine(["libicu72"], root: false);

        var result = machine.Run();

        Assert.NotEqual(0, result.ExitCode);
        Assert.Empty(machine.Calls);
        Assert.Contains(
            "sudo apt-get install -y --no-install-recommends python3-torch python3-numpy libopenblas0-pthread binutils",
            result.StandardError);
        Assert.Contains("needs root or password-less sudo", result.StandardError);
    }

    [Fact]
    public void With_everything_installed_it_does_nothing_and_says_nothing()
    {
        using var machine = new Machine(AllPackages, root: true);

        var result = machine.Run();

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Empty(machine.Calls);
        Assert.Equal("", result.Output);
    }

    [Fact]
    public void Off_Debian_it_lists_what_to_install_and_fails()
    {
        using var machine = new Machine([], root: true, debian: false);

        var result = machine.Run();

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("not a Debian/Ubuntu machine", result.StandardError);
        Assert.Contains(string.Join(' ', AllPackages), result.StandardError);
    }

    [Fact]
    public void Without_the_dotnet_sdk_it_says_where_to_get_it_and_fails()
    {
        using var machine = new Machine(AllPackages, root: true, dotnet: false);

        var result = machine.Run();

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("missing the .NET 10 SDK (dotnet)", result.StandardError);
        Assert.Empty(machine.Calls);
    }
}
