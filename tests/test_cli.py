"""The threestep command: demo, --help, --version."""
import subprocess
import sys

import threestep
from threestep import cli


def test_demo_reaches_95_percent(capsys):
    assert cli.main(["demo", "--verbose", "2"]) == 0
    out = capsys.readouterr().out
    accuracy = float(out.strip().splitlines()[-1].split(":")[-1])
    assert accuracy >= 0.95
    assert "Epoch 20/20" in out and "\r" not in out


def test_help_and_version():
    done = subprocess.run([sys.executable, "-m", "threestep", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "demo" in done.stdout
    done = subprocess.run([sys.executable, "-m", "threestep", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and threestep.__version__ in done.stdout


def test_output_piped_into_a_reader_that_stops_early_ends_without_a_traceback():
    # `threestep experiment list | head -1`: the reader closes the pipe after one line
    proc = subprocess.Popen([sys.executable, "-m", "threestep", "experiment", "list"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
