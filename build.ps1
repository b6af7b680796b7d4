#!/usr/bin/env pwsh
# Cdp build script. Run with PowerShell 7.6.9 as a local dotnet tool:
#   dotnet tool restore
#   dotnet pwsh ./build.ps1 <target> [-- extra args]
# Targets: build, test, run, bench, publish
param(
    [Parameter(Position = 0)]
    [ValidateSet('build', 'test', 'run', 'bench', 'publish')]
    [string]$Target = 'build',
    [string]$Configuration = '',
    [Parameter(ValueFromRemainingArguments = $true)]
    [string[]]$Rest = @()
)
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot

function Invoke-Step([string]$what, [scriptblock]$block) {
    Write-Host "==> $what" -ForegroundColor Cyan
    & $block
    if ($LASTEXITCODE -ne 0) { throw "$what failed with exit code $LASTEXITCODE" }
}

function Install-NodeTestPackages {
    # The real SDKs the tests drive (Segment and RudderStack, node and browser, plus esbuild for the browser page),
    # pinned by Cdp.Tests/Node/package-lock.json. npm ci runs again whenever the lock file changed since the last
    # install (its hash is kept in node_modules), so a new or updated package is never missed.
    $lock = 'Cdp.Tests/Node/package-lock.json'
    $stamp = 'Cdp.Tests/Node/node_modules/.cdp-lock-sha256'
    $hash = (Get-FileHash -Algorithm SHA256 $lock).Hash
    if (-not (Test-Path $stamp) -or (Get-Content -Raw $stamp).Trim() -ne $hash) {
        Invoke-Step 'npm ci (Cdp.Tests/Node)' { npm ci --prefix Cdp.Tests/Node --no-audit --no-fund }
        Set-Content -NoNewline -Path $stamp -Value $hash
    }
}

# In CI (CI=true) a skipped test fails the run unless .ci/allowed-skips lists it with its reason: a test that skips
# because its Debian package or mount is missing is right on a developer's machine, but in CI it would hide a broken
# install step (.ci/run installs sshd and chromium and runs as root for the disk-full tests' tmpfs).
function Assert-NoUnlistedSkips([string]$TrxDir) {
    $skipped = @(Get-ChildItem -Path $TrxDir -Filter *.trx -Recurse -ErrorAction SilentlyContinue | ForEach-Object {
        [xml]$trx = Get-Content -Raw $_.FullName
        $trx.TestRun.Results.UnitTestResult | Where-Object { $_.outcome -eq 'NotExecuted' } | ForEach-Object {
            [pscustomobject]@{ Name = $_.testName; Why = "$($_.Output.ErrorInfo.Message) $($_.Output.StdOut)".Trim() }
        }
    })
    if ($skipped.Count -eq 0) { return }
    Write-Host "$($skipped.Count) test(s) skipped" -ForegroundColor Yellow
    if ($env:CI -ne 'true') { return }
    $allowed = @(Get-Content (Join-Path $PSScriptRoot '.ci/allowed-skips') | ForEach-Object { ($_ -split '#', 2)[0].Trim() } | Where-Object { $_ })
    $unlisted = @($skipped | Where-Object { $name = $_.Name; -not ($allowed | Where-Object { $name.StartsWith($_) }) })
    if ($unlisted.Count -eq 0) { return }
    foreach ($t in $unlisted) { Write-Host "SKIPPED IN CI: $($t.Name): $($t.Why)" -ForegroundColor Red }
    throw "$($unlisted.Count) test(s) skipped in CI without being listed in .ci/allowed-skips (fix the install step, or list the test with its reason)"
}

switch ($Target) {
    'build' {
        $c = if ($Configuration) { $Configuration } else { 'Debug' }
        Invoke-Step "dotnet build ($c)" { dotnet build Cdp.sln -c $c }
    }
    'test' {
        $c = if ($Configuration) { $Configuration } else { 'Debug' }
        Install-NodeTestPackages
        # A trx file as well as the console: when tests fail, their names and messages are printed again at the very
        # end, so a log cut to its tail (as CI keeps it) still says which test failed and why.
        Write-Host "==> dotnet test ($c)" -ForegroundColor Cyan
        $trxDir = Join-Path ([System.IO.Path]::GetTempPath()) "cdp-test-results-$PID"
        dotnet test Cdp.sln -c $c --logger 'console;verbosity=normal' --logger 'trx;LogFileName=results.trx' `
            --results-directory $trxDir @Rest
        $code = $LASTEXITCODE
        if ($code -ne 0) {
            Get-ChildItem -Path $trxDir -Filter *.trx -Recurse -ErrorAction SilentlyContinue | ForEach-Object {
                [xml]$trx = Get-Content -Raw $_.FullName
                foreach ($r in $trx.TestRun.Results.UnitTestResult | Where-Object { $_.outcome -eq 'Failed' }) {
                    Write-Host "FAILED: $($r.testName)" -ForegroundColor Red
                    $msg = "$($r.Output.ErrorInfo.Message)"
                    if ($msg.Length -gt 1500) { $msg = $msg.Substring(0, 1500) + ' ...' }
                    Write-Host "  $msg"
                    $stack = "$($r.Output.ErrorInfo.StackTrace)" -split "`n" | Select-Object -First 6
                    foreach ($line in $stack) { Write-Host "  $line" }
                }
            }
            throw "dotnet test ($c) failed with exit code $code"
        }
        Assert-NoUnlistedSkips $trxDir
    }
    'run' {
        $c = if ($Configuration) { $Configuration } else { 'Debug' }
        Invoke-Step 'dotnet run Cdp.Host' { dotnet run --project Cdp.Host -c $c -- @Rest }
    }
    'bench' {
        Invoke-Step 'benchmark (Release)' { dotnet run --project bench/Cdp.Bench -c Release -- --out bench/results.json @Rest }
    }
    'publish' {
        foreach ($rid in @('linux-x64', 'win-x64')) {
            Invoke-Step "publish single-file $rid" {
                dotnet publish Cdp.Host/Cdp.Host.csproj -c Release -r $rid --self-contained true `
                    -p:PublishSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true `
                    -o "artifacts/publish/$rid"
            }
        }
        Write-Host "single-file executables in artifacts/publish/<rid>/ (Cdp.Host, Cdp.Host.exe) with appsettings.json beside them"
    }
}
