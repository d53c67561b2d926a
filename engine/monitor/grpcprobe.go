package monitor

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/net/http2/hpack"
)

// grpcProbe calls grpc.health.v1.Health/Check over plaintext HTTP/2 (h2c,
// prior knowledge), framed by hand: only hpack comes from x/net, whose
// http2 client would bring net/http into the monitor. SERVING is success.
func grpcProbe(ctx context.Context, nsPath string, g *GRPC) error {
	f, err := dial(ctx, nsPath, "", g.Port)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(grpcRequest(hostPort("", g.Port), g.Service)); err != nil {
		return fmt.Errorf("grpc probe: writing request: %w", err)
	}
	res, err := readGRPCResponse(bufio.NewReaderSize(f, 4096), f)
	if err != nil {
		return fmt.Errorf("grpc probe: %w", err)
	}
	if res.grpcStatus != "0" {
		return fmt.Errorf("grpc probe: grpc-status %s: %s", res.grpcStatus, res.grpcMessage)
	}
	status, err := healthStatus(res.body)
	if err != nil {
		return fmt.Errorf("grpc probe: %w", err)
	}
	if status != servingStatus {
		return fmt.Errorf("grpc probe: service %q status %d, not SERVING", g.Service, status)
	}
	return nil
}

// HTTP/2 frame types and flags used here.
const (
	frameData         = 0x0
	frameHeaders      = 0x1
	frameRSTStream    = 0x3
	frameSettings     = 0x4
	framePing         = 0x6
	frameGoAway       = 0x7
	frameContinuation = 0x9

	flagEndStream  = 0x1
	flagAck        = 0x1
	flagEndHeaders = 0x4
	flagPadded     = 0x8
	flagPriority   = 0x20

	servingStatus = 1 // grpc.health.v1.HealthCheckResponse.SERVING
	maxFrame      = 1 << 16
)

func appendFrame(b []byte, typ, flags byte, stream uint32, payload []byte) []byte {
	n := len(payload)
	b = append(b, byte(n>>16), byte(n>>8), byte(n), typ, flags)
	b = binary.BigEndian.AppendUint32(b, stream)
	return append(b, payload...)
}

// grpcRequest is the client preface, an empty SETTINGS frame and the call
// on stream 1.
func grpcRequest(authority, service string) []byte {
	var hdr bytesWriter
	enc := hpack.NewEncoder(&hdr)
	for _, kv := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", "/grpc.health.v1.Health/Check"},
		{":authority", authority}, {"content-type", "application/grpc"}, {"te", "trailers"}, {"user-agent", "kube-probe/podbay"}} {
		enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
	}
	// HealthCheckRequest{service = 1}, behind gRPC's 5-byte message prefix.
	var msg []byte
	if service != "" {
		msg = append([]byte{0x0a}, binary.AppendUvarint(nil, uint64(len(service)))...)
		msg = append(msg, service...)
	}
	body := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg)))
	body = append(body, msg...)
	b := []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	b = appendFrame(b, frameSettings, 0, 0, nil)
	b = appendFrame(b, frameHeaders, flagEndHeaders, 1, hdr)
	return appendFrame(b, frameData, flagEndStream, 1, body)
}

type bytesWriter []byte

func (w *bytesWriter) Write(p []byte) (int, error) { *w = append(*w, p...); return len(p), nil }

type grpcResponse struct {
	grpcStatus, grpcMessage string
	body                    []byte
}

// readGRPCResponse reads frames until stream 1 ends, answering SETTINGS
// and PING on w.
func readGRPCResponse(r io.Reader, w io.Writer) (*grpcResponse, error) {
	res := &grpcResponse{}
	dec := hpack.NewDecoder(4096, func(f hpack.HeaderField) {
		switch f.Name {
		case "grpc-status":
			res.grpcStatus = f.Value
		case "grpc-message":
			res.grpcMessage = f.Value
		}
	})
	head := make([]byte, 9)
	for {
		if _, err := io.ReadFull(r, head); err != nil {
			return nil, fmt.Errorf("reading frame: %w", err)
		}
		n := int(head[0])<<16 | int(head[1])<<8 | int(head[2])
		typ, flags, stream := head[3], head[4], binary.BigEndian.Uint32(head[5:])&0x7fffffff
		if n > maxFrame {
			return nil, fmt.Errorf("frame of %d bytes", n)
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			return nil, fmt.Errorf("reading frame: %w", err)
		}
		done, err := res.frame(w, dec, typ, flags, stream, payload)
		if err != nil || done {
			return res, err
		}
	}
}

// frame handles one frame; done once stream 1 has ended.
func (res *grpcResponse) frame(w io.Writer, dec *hpack.Decoder, typ, flags byte, stream uint32, p []byte) (bool, error) {
	switch typ {
	case frameSettings:
		if flags&flagAck == 0 {
			_, err := w.Write(appendFrame(nil, frameSettings, flagAck, 0, nil))
			return false, err
		}
	case framePing:
		if flags&flagAck == 0 {
			_, err := w.Write(appendFrame(nil, framePing, flagAck, 0, p))
			return false, err
		}
	case frameGoAway:
		return false, errors.New("server sent GOAWAY")
	case frameRSTStream:
		return false, errors.New("server reset the stream")
	case frameHeaders, frameContinuation, frameData:
		if stream != 1 {
			return false, nil
		}
		p, err := unpad(typ, flags, p)
		if err != nil {
			return false, err
		}
		if typ == frameData {
			res.body = append(res.body, p...)
		} else if _, err := dec.Write(p); err != nil {
			return false, fmt.Errorf("decoding headers: %w", err)
		}
		return flags&flagEndStream != 0 && typ != frameContinuation, nil
	}
	return false, nil
}

// unpad strips the padding and priority fields of DATA and HEADERS frames.
func unpad(typ, flags byte, p []byte) ([]byte, error) {
	if typ == frameContinuation {
		return p, nil
	}
	if flags&flagPadded != 0 {
		if len(p) < 1 || int(p[0]) >= len(p) {
			return nil, errors.New("bad padding")
		}
		p = p[1 : len(p)-int(p[0])]
	}
	if typ == frameHeaders && flags&flagPriority != 0 {
		if len(p) < 5 {
			return nil, errors.New("bad priority field")
		}
		p = p[5:]
	}
	return p, nil
}

// healthStatus decodes a HealthCheckResponse message (status = 1, an enum).
func healthStatus(body []byte) (int, error) {
	if len(body) < 5 {
		return 0, errors.New("no response message")
	}
	n := int(binary.BigEndian.Uint32(body[1:5]))
	if body[0] != 0 || n > len(body)-5 {
		return 0, errors.New("compressed or truncated response message")
	}
	msg := body[5 : 5+n]
	for len(msg) > 0 {
		tag, k := binary.Uvarint(msg)
		if k <= 0 {
			return 0, errors.New("malformed response message")
		}
		msg = msg[k:]
		if tag&7 != 0 { // only varints are expected
			return 0, fmt.Errorf("unexpected wire type in field %d", tag>>3)
		}
		v, k := binary.Uvarint(msg)
		if k <= 0 {
			return 0, errors.New("malformed response message")
		}
		msg = msg[k:]
		if tag>>3 == 1 {
			return int(v), nil
		}
	}
	return 0, nil // UNKNOWN
}
