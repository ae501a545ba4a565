%% bench/peers/bench_echo.erl - the Erlang peer: a gen_server echo on one
%% node, called from a client on another node (separate OS processes,
%% Erlang distribution over TCP on loopback). erlang_bench.sh runs both.
%%
%% The client prints one JSON line like the Python peers:
%% {"peer":"erlang","version":OTP,"figures":{...}}.
-module(bench_echo).
-behaviour(gen_server).
-export([start/0, client/1]).
-export([init/1, handle_call/3, handle_cast/2]).

-define(PAYLOAD, <<"xxxxxxxxxxxxxxxx">>).

start() ->
    {ok, _} = gen_server:start({local, bench_echo}, ?MODULE, [], []),
    ok.

init([]) -> {ok, 0}.
handle_call({echo, X}, _From, N) -> {reply, X, N + 1}.
handle_cast({echo, _X}, N) -> {noreply, N + 1}.

%% client([ServerNode, Seconds]) from -eval / -s
client([NodeA, SecA]) ->
    Node = list_to_atom(atom_to_list_any(NodeA)),
    Seconds = list_to_float(atom_to_list_any(SecA)),
    ok = wait_server(Node, 200),
    Srv = {bench_echo, Node},
    Seq = seq(Srv, Seconds),
    Pipe = [{W, pipelined(Srv, W, Seconds)} || W <- [1, 16, 256, 4096]],
    Tells = tells(Srv, Seconds),
    Figs = Seq ++ [{"pipelined_w" ++ integer_to_list(W) ++ "_calls_per_s", R}
                   || {W, R} <- Pipe]
        ++ [{"pipelined_calls_per_s", proplists:get_value(256, Pipe)},
            {"tells_per_s", Tells}],
    Body = string:join([io_lib:format("\"~s\": ~s", [K, num(V)])
                        || {K, V} <- Figs], ", "),
    io:format("{\"peer\": \"erlang\", \"version\": \"OTP ~s\", "
              "\"note\": \"gen_server on another node\", "
              "\"figures\": {~s}}~n",
              [erlang:system_info(otp_release), Body]),
    halt(0).

atom_to_list_any(A) when is_atom(A) -> atom_to_list(A);
atom_to_list_any(L) when is_list(L) -> L.

num(V) when is_integer(V) -> integer_to_list(V);
num(V) when is_float(V) -> io_lib:format("~.1f", [V]).

wait_server(_Node, 0) -> timeout;
wait_server(Node, N) ->
    case net_adm:ping(Node) of
        pong ->
            case rpc:call(Node, erlang, whereis, [bench_echo]) of
                Pid when is_pid(Pid) -> ok;
                _ -> timer:sleep(50), wait_server(Node, N - 1)
            end;
        pang -> timer:sleep(50), wait_server(Node, N - 1)
    end.

now_ns() -> erlang:monotonic_time(nanosecond).
warm(Seconds) -> round(max(0.1, Seconds / 10) * 1.0e9).

seq(Srv, Seconds) ->
    Start = now_ns(),
    Warm = Start + warm(Seconds),
    End = Warm + round(Seconds * 1.0e9),
    S = lists:sort(seq_loop(Srv, Warm, End, [])),
    Len = length(S),
    T = list_to_tuple(S),
    P = fun(Pct) ->
            R = max(1, min(Len, ceil(Pct / 100 * Len))),
            element(R, T) / 1000
        end,
    [{"seq_p50_us", P(50)}, {"seq_p99_us", P(99)}, {"seq_p999_us", P(99.9)},
     {"seq_calls_per_s", round(Len / Seconds)}].

seq_loop(Srv, Warm, End, Acc) ->
    T0 = now_ns(),
    if T0 >= End -> Acc;
       true ->
           _ = gen_server:call(Srv, {echo, ?PAYLOAD}),
           T1 = now_ns(),
           Acc2 = if T0 >= Warm -> [T1 - T0 | Acc]; true -> Acc end,
           seq_loop(Srv, Warm, End, Acc2)
    end.

pipelined(Srv, W, Seconds) ->
    Start = now_ns(),
    Warm = Start + warm(Seconds),
    End = Warm + round(Seconds * 1.0e9),
    Q = queue:from_list([gen_server:send_request(Srv, {echo, ?PAYLOAD})
                         || _ <- lists:seq(1, W)]),
    pipe_loop(Srv, Q, Warm, End, 0, undefined).

pipe_loop(Srv, Q, Warm, End, Done, AtWarm) ->
    {{value, Req}, Q1} = queue:out(Q),
    {reply, _} = gen_server:wait_response(Req, infinity),
    Q2 = queue:in(gen_server:send_request(Srv, {echo, ?PAYLOAD}), Q1),
    D = Done + 1,
    T = now_ns(),
    AtWarm2 = case AtWarm of
                  undefined when T >= Warm -> {D, T};
                  _ -> AtWarm
              end,
    if T >= End ->
           drain(Q2),
           {D0, T0} = AtWarm2,
           round((D - D0) / ((T - T0) / 1.0e9));
       true -> pipe_loop(Srv, Q2, Warm, End, D, AtWarm2)
    end.

drain(Q) ->
    case queue:out(Q) of
        {{value, Req}, Q1} -> gen_server:wait_response(Req, infinity),
                              drain(Q1);
        {empty, _} -> ok
    end.

tells(Srv, Seconds) ->
    Start = now_ns(),
    Warm = Start + warm(Seconds),
    End = Warm + round(Seconds * 1.0e9),
    tell_loop(Srv, Start, Warm, End, 0, undefined).

tell_loop(Srv, Start, Warm, End, Batches, AtWarm) ->
    [gen_server:cast(Srv, {echo, ?PAYLOAD}) || _ <- lists:seq(1, 1000)],
    _ = gen_server:call(Srv, {echo, ?PAYLOAD}),
    B = Batches + 1,
    T = now_ns(),
    AtWarm2 = case AtWarm of
                  undefined when T >= Warm -> {B, T};
                  _ -> AtWarm
              end,
    if T >= End ->
           {B0, T0} = AtWarm2,
           case B > B0 of
               true -> round((B - B0) * 1000 / ((T - T0) / 1.0e9));
               false -> round(B * 1000 / ((T - Start) / 1.0e9))
           end;
       true -> tell_loop(Srv, Start, Warm, End, B, AtWarm2)
    end.
