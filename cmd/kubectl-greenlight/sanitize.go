package main

import (
	"context"
	"reflect"
	"strings"
	"unicode"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

// Everything the plugin prints about an object was written by someone else: an author's
// campaign, a publisher's URL and last words, a reviewer's comment. Written to a terminal, a
// control character in it (ESC starting a colour or cursor sequence, a carriage return, a
// newline) could draw a fake review tree or hide a real line. So every object the plugin reads
// is made printable as it arrives, in one place: the client.

// printable replaces the characters of s that a terminal would act on: line breaks and tabs
// become spaces, other control characters and Unicode's bidirectional controls (which can
// reorder what a reader sees) become '?'.
func printable(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case unsafeRune(r):
			return '?'
		}
		return r
	}, s)
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}

// makePrintable applies printable to every string reachable from v (struct fields, pointers,
// slices, map keys and values) in place; unexported fields are left alone.
func makePrintable(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			v.SetString(printable(v.String()))
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			makePrintable(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				makePrintable(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			makePrintable(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() || !v.CanSet() {
			return
		}
		clean := reflect.MakeMapWithSize(v.Type(), v.Len())
		for _, key := range v.MapKeys() {
			k, val := reflect.New(key.Type()).Elem(), reflect.New(v.Type().Elem()).Elem()
			k.Set(key)
			val.Set(v.MapIndex(key))
			makePrintable(k)
			makePrintable(val)
			clean.SetMapIndex(k, val)
		}
		v.Set(clean)
	default:
	}
}

// printableClient returns c whose reads (and the objects writes return) come back printable.
func printableClient(c client.WithWatch) client.WithWatch {
	clean := func(obj any, err error) error {
		if err == nil {
			makePrintable(reflect.ValueOf(obj))
		}
		return err
	}
	return interceptor.NewClient(c, interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			return clean(obj, c.Get(ctx, key, obj, opts...))
		},
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			return clean(list, c.List(ctx, list, opts...))
		},
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			return clean(obj, c.Create(ctx, obj, opts...))
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			return clean(obj, c.Patch(ctx, obj, patch, opts...))
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			return clean(obj, c.Update(ctx, obj, opts...))
		},
	})
}
