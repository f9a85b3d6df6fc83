"""connect(): environment selection, URL building and refusals — none of it touches the network."""

import socket

import pytest

import octopus_nb
from octopus_nb.environments import connect, connect_target, environment_of_url, target_kind

SANDBOX_KEY = "sk_sbox_" + "m" * 26 + "="
LIVE_KEY = "sk_" + "m" * 26 + "="


@pytest.fixture(autouse=True)
def no_network_and_no_settings(monkeypatch, tmp_path):
    """No CKO_* variables, no .env, and any attempt to open a non-loopback socket fails the test."""
    for name in ("CKO_ENVIRONMENT", "CKO_SECRET_KEY", "CKO_PREFIX", "CKO_PROCESSING_CHANNEL_ID", "OCTOPUS_NB_TARGET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    real = socket.create_connection

    def loopback_only(address, *args, **kwargs):
        assert address[0] in ("127.0.0.1", "localhost"), f"tried to reach {address}"
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", loopback_only)


def test_no_arguments_starts_the_seeded_embedded_sandbox():
    with connect() as client:
        assert client.environment == "embedded"
        assert client.base_url.startswith("http://127.0.0.1:")
        assert client.sandbox.state.seed == 7
        setup = octopus_nb.create_payment_setup(client, amount=1000, currency="HKD")
        assert setup["id"].startswith("set_")
    assert not client.sandbox.is_running()  # closing the client stops the sandbox it started


def test_the_embedded_seed_makes_ids_repeat():
    def first_id(seed):
        with connect(seed=seed) as client:
            return octopus_nb.create_payment_setup(client, amount=1000, currency="HKD")["id"]

    assert first_id(3) == first_id(3) != first_id(4)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base_url": "http://127.0.0.1:9", "secret_key": "k"},
        {"environment": "sandbox", "secret_key": "sk_sbox_" + "a" * 27, "prefix": "abcdefgh"},
    ],
)
def test_confirm_response_is_refused_for_servers_it_cannot_configure(kwargs):
    with pytest.raises(octopus_nb.ConfigurationError, match="embedded sandbox"):
        connect(confirm_response="setup", **kwargs)


def test_sandbox_url_is_built_from_the_prefix():
    client = connect("sandbox", secret_key=SANDBOX_KEY, prefix="vkuhvk4v", processing_channel_id="pc_" + "a" * 26)
    assert client.base_url == "https://vkuhvk4v.api.sandbox.checkout.com"
    assert client.environment == "sandbox" and client.processing_channel_id == "pc_" + "a" * 26
    assert SANDBOX_KEY not in repr(client)


def test_production_is_refused_without_the_opt_in():
    with pytest.raises(octopus_nb.ConfigurationError, match="allow_production=True") as caught:
        connect("production", secret_key=LIVE_KEY, prefix="vkuhvk4v")
    assert isinstance(caught.value, ValueError)
    client = connect("production", secret_key=LIVE_KEY, prefix="vkuhvk4v", allow_production=True)
    assert client.base_url == "https://vkuhvk4v.api.checkout.com"


def test_a_production_base_url_also_needs_the_opt_in():
    with pytest.raises(octopus_nb.ConfigurationError, match="allow_production"):
        connect(base_url="https://vkuhvk4v.api.checkout.com", secret_key=LIVE_KEY)


@pytest.mark.parametrize(
    ("environment", "key", "message"),
    [
        ("sandbox", LIVE_KEY, "never sent to the sandbox"),
        ("production", SANDBOX_KEY, "never sent to production"),
        ("sandbox", "pk_sbox_" + "m" * 27, "should look like sk_sbox_"),
        ("sandbox", None, "CKO_SECRET_KEY"),
    ],
)
def test_key_shapes_must_fit_the_environment(environment, key, message):
    with pytest.raises(octopus_nb.ConfigurationError, match=message) as caught:
        connect(environment, secret_key=key, prefix="vkuhvk4v", allow_production=True)
    if key:
        assert key not in str(caught.value)


def test_sandbox_key_to_a_production_base_url_is_refused():
    with pytest.raises(octopus_nb.ConfigurationError, match="never sent to production"):
        connect(base_url="https://abc.api.checkout.com", secret_key=SANDBOX_KEY, allow_production=True)


def test_the_prefix_is_required_and_checked():
    with pytest.raises(octopus_nb.ConfigurationError, match="prefix"):
        connect("sandbox", secret_key=SANDBOX_KEY)
    with pytest.raises(octopus_nb.ConfigurationError, match="prefix"):
        connect("sandbox", secret_key=SANDBOX_KEY, prefix="evil.com/")


def test_settings_come_from_cko_variables(monkeypatch):
    monkeypatch.setenv("CKO_SECRET_KEY", SANDBOX_KEY)
    monkeypatch.setenv("CKO_PREFIX", "abcd1234")
    client = connect()
    assert client.environment == "sandbox" and client.base_url == "https://abcd1234.api.sandbox.checkout.com"
    with connect(seed=7) as embedded:  # a seed always means the embedded sandbox
        assert embedded.environment == "embedded"


def test_cko_environment_production_still_needs_the_opt_in(monkeypatch):
    monkeypatch.setenv("CKO_SECRET_KEY", LIVE_KEY)
    monkeypatch.setenv("CKO_PREFIX", "abcd1234")
    monkeypatch.setenv("CKO_ENVIRONMENT", "production")
    with pytest.raises(octopus_nb.ConfigurationError, match="allow_production"):
        connect()


def test_settings_come_from_a_dotenv_file(tmp_path):
    (tmp_path / ".env").write_text(f"CKO_SECRET_KEY={SANDBOX_KEY}\nCKO_PREFIX=efgh5678\nOTHER=1\n")
    assert connect().base_url == "https://efgh5678.api.sandbox.checkout.com"


def test_base_url_clients_for_a_running_sandbox(sandbox):
    with connect(base_url=sandbox.base_url, secret_key=sandbox.secret_key) as client:
        assert client.environment == "custom"
        assert octopus_nb.create_payment_setup(client, amount=1000, currency="HKD").status == 200
    with pytest.raises(octopus_nb.ConfigurationError, match="secret_key"):
        connect(base_url=sandbox.base_url)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://abcd1234.api.sandbox.checkout.com", "sandbox"),
        ("https://api.sandbox.checkout.com/", "sandbox"),
        ("https://abcd1234.api.checkout.com", "production"),
        ("https://API.CHECKOUT.COM", "production"),
        ("http://127.0.0.1:8080", "custom"),
        ("https://checkout.com.evil.example", "custom"),
    ],
)
def test_environment_of_url(url, kind):
    assert environment_of_url(url) == kind


def test_unknown_environments_and_misplaced_seeds_are_refused():
    with pytest.raises(octopus_nb.ConfigurationError, match="Unknown environment"):
        connect("staging")
    with pytest.raises(octopus_nb.ConfigurationError, match="embedded sandbox only"):
        connect("sandbox", secret_key=SANDBOX_KEY, prefix="abcd1234", seed=1)


# connect_target(): what the notebooks' first cell uses (OCTOPUS_NB_TARGET)


@pytest.mark.parametrize("target", [None, "", "embedded", " embedded "])
def test_connect_target_defaults_to_the_seeded_embedded_sandbox(monkeypatch, target):
    if target is not None:
        monkeypatch.setenv("OCTOPUS_NB_TARGET", target)
    monkeypatch.setenv("CKO_SECRET_KEY", SANDBOX_KEY)  # a configured account does not change the embedded default
    with connect_target(seed=5) as client:
        assert client.environment == "embedded" and client.sandbox.state.seed == 5
    assert octopus_nb.connect_target is connect_target


def test_connect_target_sandbox_reads_the_cko_settings_and_never_the_seed(monkeypatch):
    monkeypatch.setenv("OCTOPUS_NB_TARGET", "sandbox")
    monkeypatch.setenv("CKO_SECRET_KEY", SANDBOX_KEY)
    monkeypatch.setenv("CKO_PREFIX", "abcd1234")
    monkeypatch.setenv("CKO_ENVIRONMENT", "production")  # the target says sandbox: CKO_ENVIRONMENT is not read
    client = connect_target(seed=7)
    assert client.base_url == "https://abcd1234.api.sandbox.checkout.com" and client.environment == "sandbox"
    assert client.sandbox is None


def test_connect_target_url_uses_cko_secret_key_against_that_server(monkeypatch, sandbox):
    monkeypatch.setenv("OCTOPUS_NB_TARGET", sandbox.base_url)
    monkeypatch.setenv("CKO_SECRET_KEY", sandbox.secret_key)
    with connect_target(seed=99) as client:  # the seed is not read: the server has its own
        assert (client.environment, client.base_url, client.sandbox) == ("custom", sandbox.base_url, None)
        assert octopus_nb.create_payment_setup(client, amount=1000, currency="HKD")["id"].startswith("set_")


@pytest.mark.parametrize(
    "target, message",
    [
        ("production", "The target production is refused"),
        ("https://abcd1234.api.checkout.com", "points at Checkout.com production"),
        ("ftp://example.com", "Unknown target"),
        ("sandbox-please", "Unknown target"),
    ],
)
def test_connect_target_refuses_production_and_unknown_targets(monkeypatch, target, message):
    monkeypatch.setenv("OCTOPUS_NB_TARGET", target)
    monkeypatch.setenv("CKO_SECRET_KEY", SANDBOX_KEY)
    with pytest.raises(octopus_nb.ConfigurationError, match=message):
        connect_target()
    with pytest.raises(octopus_nb.ConfigurationError, match=message):
        target_kind()


@pytest.mark.parametrize("target", ["sandbox", "http://127.0.0.1:9"])
def test_connect_target_never_sends_a_production_key(monkeypatch, target):
    monkeypatch.setenv("CKO_SECRET_KEY", LIVE_KEY)
    monkeypatch.setenv("CKO_PREFIX", "abcd1234")
    with pytest.raises(octopus_nb.ConfigurationError, match="production key"):
        connect_target(target=target)


def test_connect_target_without_a_key_says_which_setting_is_missing(monkeypatch):
    with pytest.raises(octopus_nb.ConfigurationError, match="CKO_SECRET_KEY"):
        connect_target(target="sandbox")
