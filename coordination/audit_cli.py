"""`coordination audit ...`: the log's checkpointer, and the auditor's and witnesses' tools."""

import json
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from base64 import b64encode
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import click

from coordination.api.audit.keys import log_keys, signer_for
from coordination.audit_worker import run_checkpointer
from coordination.cli_support import echo_json, open_runtime, settings
from services.actor import Actor
from services.audit.checkpoints import InconsistentLogError, retired_verifiers, sign_checkpoint
from services.audit.export import export_log, verify_export
from services.audit.export import verify_database as verify_live
from services.audit.note import CosignatureVerifier, Ed25519Signer, NoteError
from services.audit.review import monthly_review
from services.audit.verify import LogVerificationError, VerifyResult
from services.audit.witness import WitnessRefusal, WitnessState, witness


@click.group()
def audit() -> None:
    """The tamper-evident audit trail: checkpoints, witnesses, export, verify, review."""


@audit.command("key")
def audit_key() -> None:
    """Print the log's verifier key (created with the signing key on first use)."""
    click.echo(signer_for(settings()).verifier().verifier_key())


@audit.command("checkpoint")
@click.option("--follow", is_flag=True, help="Keep signing as entries arrive, until Ctrl-C.")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between looks.")
def audit_checkpoint(follow: bool, interval: float) -> None:
    """Sign a checkpoint of the current log if it grew since the last one."""
    config = settings()
    if follow:
        stop = threading.Event()
        try:
            run_checkpointer(config, stop, interval)
        except KeyboardInterrupt:
            stop.set()
        return
    signer = signer_for(config)
    with open_runtime() as runtime, runtime.session_factory() as session:
        try:
            checkpoint = sign_checkpoint(
                session, signer, runtime.clock, retired_verifiers(config.audit_key_file)
            )
        except InconsistentLogError as error:
            raise click.ClickException(f"refused: {error}") from None
        session.commit()
    if checkpoint is None:
        click.echo("no new entries: nothing to sign", err=True)
        return
    click.echo(checkpoint.note, nl=False)


def _when(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            "expected an RFC 3339 time or YYYY-MM-DD", param_hint=name
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@audit.command("export")
@click.option("--from", "at_from", help="First entry time (RFC 3339 or YYYY-MM-DD, UTC).")
@click.option("--to", "at_to", help="End time, exclusive.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
def audit_export(at_from: str | None, at_to: str | None, out: Path) -> None:
    """Write entries (JSONL), signed checkpoints and the verifier key to a directory."""
    config = settings()
    log_key = log_keys(config)
    with open_runtime() as runtime, runtime.session_factory() as session:
        summary = export_log(
            session,
            out,
            log_key,
            at_from=_when(at_from, "--from"),
            at_to=_when(at_to, "--to"),
        )
    click.echo(
        f"exported entries {summary.start} to {summary.end - 1} and"
        f" {summary.checkpoints} checkpoints to {out}",
        err=True,
    )


@audit.command("verify")
@click.argument(
    "directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option("--database", is_flag=True, help="Verify the live database instead of an export.")
@click.option(
    "--witness-key",
    "witness_keys",
    multiple=True,
    help="A trusted witness's verifier key: some checkpoint must carry its cosignature.",
)
@click.option(
    "--held",
    "held_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A checkpoint a witness holds (note file, or a witness state file): must agree.",
)
def audit_verify(
    directory: Path | None,
    database: bool,
    witness_keys: tuple[str, ...],
    held_files: tuple[Path, ...],
) -> None:
    """Recompute every leaf and root and check every signature; exit 1 at the first bad index."""
    if (directory is None) == (not database):
        raise click.UsageError("give an export DIRECTORY or --database")
    trusted = _witness_keys(witness_keys)
    held = [_held_note(path) for path in held_files]
    try:
        if directory is not None:
            result = verify_export(directory, trusted, held)
        else:
            config = settings()
            log_key = log_keys(config)
            with open_runtime() as runtime, runtime.session_factory() as session:
                result = verify_live(session, log_key, trusted, held)
    except LogVerificationError as error:
        where = f"first bad index: {error.index}" if error.index is not None else "log"
        click.echo(f"FAILED ({where}): {error}", err=True)
        sys.exit(1)
    _report(result)


def _held_note(path: Path) -> str:
    """A signed note as a file, or the `note` of a witness's state file."""
    text = path.read_text()
    try:
        state = json.loads(text)
    except ValueError:
        return text
    if isinstance(state, dict) and isinstance(state.get("note"), str):
        return str(state["note"])
    raise click.BadParameter("not a checkpoint note or a witness state file", param_hint="--held")


def _witness_keys(keys: tuple[str, ...]) -> list[str] | None:
    if not keys:
        return None
    try:
        return [CosignatureVerifier.from_verifier_key(key).verifier_key() for key in keys]
    except (NoteError, ValueError):
        raise click.BadParameter(
            "not a cosignature verifier key", param_hint="--witness-key"
        ) from None


def _report(result: VerifyResult) -> None:
    click.echo(
        json.dumps(
            {
                "ok": True,
                "entries": result.entries,
                "first_index": result.first_index,
                "tree_size": result.tree_size,
                "root_hash": result.root_hash.hex(),
                "checkpoints": result.checkpoints,
                "cosignatures": result.cosignatures,
                "witnessed_size": result.witnessed_size,
                "unsigned_tail": result.unsigned_tail,
            },
            indent=2,
        )
    )


@audit.command("review")
@click.option("--month", required=True, help="YYYY-MM (Asia/Seoul).")
def audit_review(month: str) -> None:
    """The monthly access review, per org, as JSON (the same as GET /v1/audit/review)."""
    from coordination.api.audit.schemas import ReviewQuery, dump_review

    errors = ReviewQuery().validate({"month": month})
    if errors:
        raise click.BadParameter("expected YYYY-MM", param_hint="--month")
    auditor = Actor(org="", org_kind="auditor", client_id="cli")
    with open_runtime() as runtime, runtime.session_factory() as session:
        review = monthly_review(session, auditor, month, runtime.clock.now())
        echo_json(dump_review(review))


# ---- the witness ---------------------------------------------------------------------------


class Transport(Protocol):
    def __call__(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]: ...


def http_transport(base_url: str) -> Transport:
    base = base_url.rstrip("/")

    def send(
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        data = None
        all_headers = {"Accept": "application/json", **(headers or {})}
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(base + path, data, all_headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            try:
                return error.code, json.loads(error.read() or b"null")
            except ValueError:
                return error.code, None

    return send


def load_or_create_witness_key(path: Path, name: str) -> Ed25519Signer:
    from services.audit.checkpoints import load_or_create_signer

    return load_or_create_signer(path, name)


class WitnessFailure(click.ClickException):
    pass


def run_witness(
    send: Transport,
    signer: Ed25519Signer,
    state_path: Path,
    *,
    token: str,
    log_key: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """One round: fetch, check, cosign, post, remember. Raises `WitnessRefusal` on a bad log."""
    auth = {"Authorization": f"Bearer {token}"}
    state = WitnessState.load(state_path)
    if log_key is None and state is not None:
        log_key = state.log_key
    if log_key is None:
        log_key = str(_get(send, "/v1/audit/key", auth)["log_key"])
    checkpoint = _get(send, "/v1/audit/checkpoint", auth)

    def consistency(first: int, second: int) -> list[bytes]:
        query = urllib.parse.urlencode({"first": first, "second": second})
        proof = _get(send, f"/v1/audit/proofs/consistency?{query}", auth)
        return [bytes.fromhex(h) for h in proof["proof"]]

    assert log_key is not None
    signature, new_state = witness(
        checkpoint["note"],
        log_key,
        state,
        consistency,
        signer,
        int(now if now is not None else time.time()),
    )
    cosigner_key = CosignatureVerifier(signer.name, signer.public_key).verifier_key()
    status, answer = send(
        "POST",
        "/v1/audit/checkpoint/cosignatures",
        body={
            "tree_size": new_state.size,
            "cosignature": signature.to_line(),
            "verifier_key": cosigner_key,
        },
        headers=auth,
    )
    if status not in (200, 201):
        raise WitnessFailure(f"the log refused the cosignature ({status}): {answer}")
    new_state.save(state_path)
    return {"tree_size": new_state.size, "root_hash": new_state.root_hash.hex(), "status": status}


def _get(send: Transport, path: str, headers: dict[str, str]) -> Any:
    status, answer = send("GET", path, headers=headers)
    if status != 200:
        raise WitnessFailure(f"GET {path.split('?')[0]} answered {status}: {answer}")
    return answer


def fetch_token(send: Transport, client_id: str, client_secret: str) -> str:
    basic = b64encode(f"{client_id}:{client_secret}".encode()).decode()
    status, answer = send(
        "POST",
        "/oauth/token",
        form={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    if status != 200 or not isinstance(answer, dict) or "access_token" not in answer:
        raise WitnessFailure(f"no access token ({status})")
    return str(answer["access_token"])


@audit.command("witness")
@click.option("--url", required=True, help="The service's base URL, e.g. https://coord.example")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="This witness's signer key file (created, mode 0600, if missing).",
)
@click.option("--name", default=None, help="Key name when creating the key (default: host).")
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where the last cosigned checkpoint is kept (default: KEY.state.json).",
)
@click.option("--log-key", default=None, help="The log's verifier key to trust (else pinned).")
@click.option("--client-id", envvar="COORDINATION_CLIENT_ID", required=True)
@click.option("--client-secret", envvar="COORDINATION_CLIENT_SECRET", required=True)
def audit_witness(
    url: str,
    key_file: Path,
    name: str | None,
    state_file: Path | None,
    log_key: str | None,
    client_id: str,
    client_secret: str,
) -> None:
    """Check the latest checkpoint against the last one seen, and cosign it (cosignature/v1)."""
    signer = load_or_create_witness_key(
        key_file, name or (urllib.parse.urlsplit(url).hostname or "witness") + "/witness"
    )
    send = http_transport(url)
    try:
        result = run_witness(
            send,
            signer,
            state_file or key_file.with_name(key_file.name + ".state.json"),
            token=fetch_token(send, client_id, client_secret),
            log_key=log_key,
        )
    except WitnessRefusal as refusal:
        click.echo(f"REFUSED: {refusal}", err=True)
        sys.exit(1)
    result["witness_key"] = CosignatureVerifier(signer.name, signer.public_key).verifier_key()
    click.echo(json.dumps(result, indent=2))
