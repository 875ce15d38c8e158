// pulumi-language-python for idcpilot's offline Pulumi engine.
//
// The Go module proxy serves github.com/pulumi/pulumi/pkg/v3 and sdk/v3 but not the module of
// Pulumi's own Python language host (sdk/python/cmd/pulumi-language-python), so idcpilot builds
// this one (idcpilot.bundle.pulumi_engine) against sdk/v3 at the same version as the CLI and the
// `pulumi` Python package. It serves the LanguageRuntime gRPC service the engine drives for
// `runtime: python` projects and policy packs, the way the stock host does:
//
//   - the program runs as `<venv python> -u pulumi-language-python-exec --monitor ... PROGRAM`,
//     the exec script being the one sdk/v3 ships (python/cmd), installed beside this binary;
//   - the virtualenv, toolchain (pip, uv, poetry) and typechecker options are the project's
//     runtime options, resolved by sdk/v3's python/toolchain package;
//   - the required packages are the installed distributions that ship a pulumi-plugin.json
//     (or are named pulumi-*), so the engine knows each provider's name and version;
//   - policy packs (RunPlugin, kind analyzer) run `python -u -m pulumi.policy` in the pack's
//     directory, behind sdk/v3's policy proxy, which hands them the stack configuration.
//
// Code generation (pulumi convert, import, package gen-sdk) is not served: those are
// online-developer commands, not part of running the estate's stacks.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// execScript is the program runner sdk/v3 ships, installed beside this binary.
const execScript = "pulumi-language-python-exec"

// exitUserMessage is the exec script's exit code after it showed the user an error.
const exitUserMessage = 32

func main() {
	flag.String("tracing", "", "Zipkin-compatible tracing endpoint (accepted for compatibility; not used)")
	showVersion := flag.Bool("version", false, "print the plugin version and exit")
	useExecutor := flag.String("use-executor", "", "run programs with this exec script instead of the one beside this binary")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Version)
		return
	}
	logging.InitLogging(false, 0, false)

	executor := *useExecutor
	if executor == "" {
		self, err := os.Executable()
		if err != nil {
			cmdutil.Exit(fmt.Errorf("could not determine this executable: %w", err))
		}
		executor = filepath.Join(filepath.Dir(self), execScript)
	}
	if _, err := os.Stat(executor); err != nil {
		cmdutil.Exit(fmt.Errorf("missing the program runner %s: %w", executor, err))
	}

	engineAddress := ""
	if args := flag.Args(); len(args) > 0 {
		engineAddress = args[0]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	cancelChannel := make(chan bool)
	go func() {
		<-ctx.Done()
		stop()
		close(cancelChannel)
	}()
	if engineAddress != "" {
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, stop); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start the engine health check: %w", err))
		}
	}

	host := newHost(executor, engineAddress)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancelChannel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
		Options: rpcutil.TracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start the language host RPC server: %w", err))
	}
	fmt.Printf("%d\n", handle.Port) // the engine reads the port from the first line
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC server stopped: %w", err))
	}
}

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	executor      string
	engineAddress string
	cancelCtx     context.Context
	cancel        context.CancelFunc
}

func newHost(executor, engineAddress string) *host {
	ctx, cancel := context.WithCancel(context.Background())
	return &host{executor: executor, engineAddress: engineAddress, cancelCtx: ctx, cancel: cancel}
}

// options reads the project's runtime options (Pulumi.yaml or PulumiPolicy.yaml).
func options(info *pulumirpc.ProgramInfo, isPlugin bool) (toolchain.PythonOptions, error) {
	opts := toolchain.PythonOptions{Root: info.GetRootDirectory(), ProgramDir: info.GetProgramDirectory()}
	raw := map[string]any{}
	if info.GetOptions() != nil {
		raw = info.GetOptions().AsMap()
	}
	str := func(key string) (string, error) {
		v, ok := raw[key]
		if !ok {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("the %s option must be a string", key)
		}
		return s, nil
	}
	venv, err := str("virtualenv")
	if err != nil {
		return opts, err
	}
	opts.Virtualenv = venv
	checker, err := str("typechecker")
	if err != nil {
		return opts, err
	}
	switch checker {
	case "":
	case "mypy":
		opts.Typechecker = toolchain.TypeCheckerMypy
	case "pyright":
		opts.Typechecker = toolchain.TypeCheckerPyright
	default:
		return opts, fmt.Errorf("unsupported typechecker option: %s", checker)
	}
	tc, err := str("toolchain")
	if err != nil {
		return opts, err
	}
	switch tc {
	case "":
	case "pip":
		opts.Toolchain = toolchain.Pip
	case "uv":
		opts.Toolchain = toolchain.Uv
	case "poetry":
		opts.Toolchain = toolchain.Poetry
	default:
		return opts, fmt.Errorf("unsupported toolchain option: %s", tc)
	}
	// Plugins never run in the ambient Python: like the stock host, default them to ./venv.
	if isPlugin && (opts.Toolchain == toolchain.Pip || opts.Toolchain == toolchain.Auto) && opts.Virtualenv == "" {
		opts.Virtualenv = "venv"
	}
	return opts, nil
}

func (h *host) Handshake(ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.engineAddress = req.GetEngineAddress()
	hctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	if err := rpcutil.Healthcheck(hctx, h.engineAddress, 5*time.Minute, stop); err != nil {
		return nil, fmt.Errorf("could not start the engine health check: %w", err)
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(ctx context.Context, _ *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

func (h *host) Cancel(ctx context.Context, _ *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancel()
	return &emptypb.Empty{}, nil
}

// pluginScript prints, as JSON, each installed distribution that is a Pulumi package: its name,
// version and the content of its pulumi-plugin.json (null when it has none).
const pluginScript = `
import importlib.metadata as md, json, sys
out = []
for dist in md.distributions():
    name = (dist.metadata["Name"] or "").lower().replace("_", "-")
    plugin = None
    for f in dist.files or []:
        if f.name == "pulumi-plugin.json":
            try:
                plugin = json.loads(f.read_text())
            except (OSError, ValueError):
                plugin = None
            break
    if plugin is not None or name.startswith("pulumi-"):
        out.append({"name": name, "version": dist.version, "plugin": plugin})
json.dump(out, sys.stdout)
`

type installedPackage struct {
	Name    string          `json:"name"`
	Version string          `json:"version"`
	Plugin  json.RawMessage `json:"plugin"`
}

type pluginJSON struct {
	Resource         bool   `json:"resource"`
	Name             string `json:"name"`
	Version          string `json:"version"`
	Server           string `json:"server"`
	Parameterization *struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Value   []byte `json:"value"`
	} `json:"parameterization"`
}

// notPlugins are pulumi-* distributions that have no resource plugin.
var notPlugins = map[string]bool{"pulumi": true, "pulumi-policy": true, "pulumi-esc-sdk": true}

func (h *host) GetRequiredPackages(ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	opts, err := options(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}
	cmd, err := tc.Command(ctx, "-c", pluginScript)
	if err != nil {
		return nil, err
	}
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing the Pulumi packages of the virtualenv: %w", err)
	}
	var installed []installedPackage
	if err := json.Unmarshal(out, &installed); err != nil {
		return nil, fmt.Errorf("reading the Pulumi packages of the virtualenv: %w", err)
	}
	var deps []*pulumirpc.PackageDependency
	for _, pkg := range installed {
		dep, err := dependency(pkg)
		if err != nil {
			return nil, err
		}
		if dep != nil {
			deps = append(deps, dep)
		}
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: deps}, nil
}

func dependency(pkg installedPackage) (*pulumirpc.PackageDependency, error) {
	if notPlugins[pkg.Name] {
		return nil, nil
	}
	name, ver := strings.TrimPrefix(pkg.Name, "pulumi-"), ""
	dep := &pulumirpc.PackageDependency{Kind: string(apitype.ResourcePlugin)}
	if len(pkg.Plugin) > 0 && string(pkg.Plugin) != "null" {
		var p pluginJSON
		if err := json.Unmarshal(pkg.Plugin, &p); err != nil {
			return nil, fmt.Errorf("pulumi-plugin.json of %s: %w", pkg.Name, err)
		}
		if !p.Resource {
			return nil, nil
		}
		if p.Name != "" {
			name = p.Name
		}
		ver, dep.Server = p.Version, p.Server
		if p.Parameterization != nil {
			dep.Parameterization = &pulumirpc.PackageParameterization{
				Name: p.Parameterization.Name, Version: p.Parameterization.Version, Value: p.Parameterization.Value,
			}
		}
	}
	if ver == "" {
		v, ok := pluginVersion(pkg.Version)
		if !ok {
			logging.V(5).Infof("no plugin version for %s %s", pkg.Name, pkg.Version)
			return nil, nil
		}
		ver = v
	}
	if !strings.HasPrefix(ver, "v") {
		ver = "v" + ver
	}
	dep.Name, dep.Version = name, ver
	return dep, nil
}

var pep440 = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)*)(?:(a|b|rc)([0-9]+))?(?:\.post([0-9]+))?(?:\.dev([0-9]+))?$`)

// pluginVersion turns a PEP 440 release (1.2, 1.2.3rc1, 1.2.3.post4) into a plugin version
// (1.2.0, 1.2.3-rc.1, 1.2.3+post4), as Pulumi's Python host does.
func pluginVersion(v string) (string, bool) {
	m := pep440.FindStringSubmatch(v)
	if m == nil {
		return "", false
	}
	parts := strings.Split(m[1], ".")
	for len(parts) < 3 {
		parts = append(parts, "0")
	}
	out := strings.Join(parts, ".")
	if m[2] != "" {
		out += "-" + map[string]string{"a": "alpha", "b": "beta", "rc": "rc"}[m[2]] + "." + m[3]
	}
	if m[4] != "" || m[5] != "" {
		out += "+"
		if m[4] != "" {
			out += "post" + m[4]
		}
		if m[5] != "" {
			out += "dev" + m[5]
		}
	}
	return out, true
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	if h.engineAddress == "" {
		return nil, errors.New("no engine address: the engine must call Handshake before Run")
	}
	opts, err := options(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}
	env := []string{}
	if cfg := req.GetConfig(); cfg != nil {
		data, err := json.Marshal(cfg)
		if err != nil {
			return nil, fmt.Errorf("serializing the configuration: %w", err)
		}
		env = append(env, "PULUMI_CONFIG="+string(data))
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	data, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("serializing the secret configuration keys: %w", err)
	}
	env = append(env, "PULUMI_CONFIG_SECRET_KEYS="+string(data))

	checker := ""
	switch opts.Typechecker {
	case toolchain.TypeCheckerMypy:
		checker = "mypy"
	case toolchain.TypeCheckerPyright:
		checker = "pyright"
	}
	if checker != "" {
		if resp := h.typecheck(ctx, tc, checker, req.GetInfo().GetProgramDirectory()); resp != nil {
			return resp, nil
		}
	}

	runCtx, runCancel := context.WithCancel(h.cancelCtx)
	defer runCancel()
	context.AfterFunc(ctx, runCancel)
	cmd, err := tc.Command(runCtx, append([]string{h.executor}, runArgs(req, h.engineAddress)...)...)
	if err != nil {
		return nil, err
	}
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 5 * time.Second
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, env...)
	if err := cmd.Run(); err != nil {
		_ = os.Stdout.Sync()
		_ = os.Stderr.Sync()
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("problem executing program (could not run language executor): %v", err)}, nil
		}
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.ExitStatus() == exitUserMessage {
			return &pulumirpc.RunResponse{Bail: true}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited with non-zero exit code: %d", exitErr.ExitCode())}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// typecheck runs mypy or pyright on the program; a RunResponse when it found errors, else nil.
func (h *host) typecheck(ctx context.Context, tc toolchain.Toolchain, checker, dir string) *pulumirpc.RunResponse {
	args := []string{}
	if checker == "mypy" {
		args = append(args, ".")
	}
	cmd, err := tc.ModuleCommand(ctx, checker, args...)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}
	}
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("%s failed: %v", checker, err)}
	}
	return nil
}

// runArgs is the exec script's command line for a RunRequest.
func runArgs(req *pulumirpc.RunRequest, engineAddress string) []string {
	var args []string
	add := func(k, v string) {
		if v != "" {
			args = append(args, "--"+k, v)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", engineAddress)
	add("project", req.GetProject())
	add("root_directory", req.GetInfo().GetRootDirectory())
	add("stack", req.GetStack())
	add("pwd", req.GetPwd())
	add("dry_run", strconv.FormatBool(req.GetDryRun()))
	add("parallel", strconv.Itoa(int(req.GetParallel())))
	add("organization", req.GetOrganization())
	args = append(args, req.GetInfo().GetEntryPoint())
	return append(args, req.GetArgs()...)
}

func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	ctx := server.Context()
	analyzer := req.GetKind() == string(apitype.AnalyzerPlugin)
	opts, err := options(req.GetInfo(), !analyzer)
	if err != nil {
		return err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return err
	}
	var args []string
	if analyzer {
		// a policy pack: pulumi_policy's runner, the pack's directory last
		args = append([]string{"-u", "-m", "pulumi.policy"}, req.GetArgs()...)
		args = append(args, req.GetInfo().GetProgramDirectory())
	} else {
		args = append([]string{req.GetInfo().GetProgramDirectory()}, req.GetArgs()...)
	}
	cmd, err := tc.Command(ctx, args...)
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	var proxy *sdk.PolicyProxy
	if analyzer {
		cmd.Dir = req.GetInfo().GetProgramDirectory()
		proxy, stdout, err = sdk.NewPolicyProxy(ctx, stdout)
		if err != nil {
			return fmt.Errorf("could not start the policy pack proxy: %w", err)
		}
		cfg, err := proxy.AwaitConfiguration(ctx)
		if err != nil {
			return fmt.Errorf("could not get the stack configuration: %w", err)
		}
		if cfg != nil {
			for k, v := range map[string]string{"PULUMI_ORGANIZATION": cfg.GetOrganization(), "PULUMI_PROJECT": cfg.GetProject(),
				"PULUMI_STACK": cfg.GetStack(), "PULUMI_DRY_RUN": strconv.FormatBool(cfg.GetDryRun())} {
				if v != "" {
					cmd.Env = append(cmd.Env, k+"="+v)
				}
			}
			if cfg.GetConfig() != nil {
				data, err := json.Marshal(cfg.GetConfig())
				if err != nil {
					return fmt.Errorf("serializing the stack configuration: %w", err)
				}
				cmd.Env = append(cmd.Env, "PULUMI_CONFIG="+string(data))
			}
		}
	} else {
		cmd.Dir = req.GetPwd()
	}
	cmd.Env = append(cmd.Env, req.GetEnv()...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("problem executing plugin program (could not run language executor): %w", err)
	}
	if proxy != nil {
		if err := proxy.Attach(ctx, cmd); err != nil {
			return fmt.Errorf("could not attach the policy pack proxy: %w", err)
		}
	} else if err := cmd.Wait(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return server.Send(&pulumirpc.RunPluginResponse{
				Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(exitErr.ExitCode())},
			})
		}
		return fmt.Errorf("plugin program failed: %w", err)
	}
	return closer.Close()
}

func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	opts, err := options(req.GetInfo(), req.GetIsPlugin())
	if err != nil {
		return err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()
	if err := tc.InstallDependencies(server.Context(), req.GetInfo().GetProgramDirectory(), req.GetUseLanguageVersionTools(),
		true, stdout, stderr); err != nil {
		return err
	}
	return closer.Close()
}

func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	opts, err := options(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return nil, err
	}
	cmd, err := tc.Command(ctx, "-c", "import sys; print(sys.executable); print('%d.%d.%d' % sys.version_info[:3])")
	if err != nil {
		return nil, err
	}
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("running python: %w", err)
	}
	lines := strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)
	resp := &pulumirpc.AboutResponse{Executable: lines[0]}
	if len(lines) == 2 {
		resp.Version = lines[1]
	}
	return resp, nil
}

func (h *host) GetProgramDependencies(ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	opts, err := options(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return nil, err
	}
	pkgs, err := tc.ListPackages(ctx, req.GetTransitiveDependencies())
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for _, p := range pkgs {
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
	}
	return resp, nil
}

func (h *host) RuntimeOptionsPrompts(ctx context.Context, req *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}
